"""The parity runner's code inside Django's test process (settings, test runner, mode 3).

``parity/run.py`` starts Django's ``tests/runtests.py`` once per database and mode with
``--settings=vinyl_parity.settings``; everything here runs in that process and its workers.
"""
