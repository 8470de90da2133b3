"""Profile one contender's workload with pyinstrument, in this process, after a warm-up.

``python -m vinyl_bench.profile --vendor postgresql --contender vinyl_async --workload W1``
(from ``benchmarks/``, on databases a run of the same ``--scale`` and database name has
seeded; ``VINYL_BENCH_NAME`` names it, as for ``run.py``). Prints
pyinstrument's call tree of one run; ``--html FILE`` writes the interactive version too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from vinyl_bench.scale import SCALES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", required=True, choices=["postgresql", "mysql", "sqlite"])
    parser.add_argument("--contender", required=True, help="e.g. vinyl_async")
    parser.add_argument("--workload", required=True)
    parser.add_argument("--scale", default="full", choices=sorted(SCALES))
    parser.add_argument("--interval", type=float, default=0.0002, help="sampling, seconds")
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML here")
    parser.add_argument(
        "--show-all", action="store_true", help="keep the library frames pyinstrument hides"
    )
    args = parser.parse_args(argv)

    # Settings read the database name when first imported: set it before anything does.
    os.environ.setdefault("VINYL_BENCH_NAME", SCALES[args.scale].database)
    os.environ["DJANGO_SETTINGS_MODULE"] = "vinyl_bench.settings"
    import django

    from vinyl_bench.contenders import CONTENDERS

    django.setup()
    import pyinstrument

    import vinyl_bench.workloads  # noqa: F401 - importing the package registers the workloads
    from vinyl_bench.worker import Runner, Session

    if args.contender not in CONTENDERS:
        parser.error(f"--contender must be one of {', '.join(CONTENDERS)}")
    contender = CONTENDERS[args.contender](args.vendor, SCALES[args.scale])
    runner = Runner(contender.is_async)
    runner.call(contender.open)
    session = Session(contender, runner)
    warm_up = session.run(args.workload)
    if "error" in warm_up:
        print(f"{args.workload} failed: {warm_up['error']}", file=sys.stderr)
        return 1
    profiler = pyinstrument.Profiler(interval=args.interval, async_mode="enabled")
    # Only the timed call: a write workload's restore and read-back stay out of the profile.
    session.around_timed = lambda: profiler
    measured = session.run(args.workload)
    if "error" in measured:
        print(f"{args.workload} failed: {measured['error']}", file=sys.stderr)
        return 1
    session.close()
    runner.call(contender.close)
    runner.close()
    print(f"{args.contender} {args.workload} on {args.vendor}: {measured['seconds']:.3f} s")
    print(profiler.output_text(unicode=True, color=False, show_all=args.show_all))
    if args.html:
        args.html.write_text(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
