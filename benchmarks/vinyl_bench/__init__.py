"""vinyl's benchmark harness: read and write workloads, each contender in its own process.

``run.py`` (``vinyl_bench.cli``) seeds the data, starts one worker process
(``vinyl_bench.worker``) per contender and database, compares the workloads' checksums
and prints the markdown table. Workloads live in ``vinyl_bench.workloads``, one module
each, registered by name in ``vinyl_bench.registry``.
"""
