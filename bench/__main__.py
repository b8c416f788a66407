"""`python -m bench [vote-ingest|fan-out ...]`: run the benchmarks, print one summary.

Exits 1 only when a count is wrong (a vote miscounted, a delivery missing or
doubled); a missed speed target is printed as MISS but does not fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path

from . import fan_out, vote_ingest
from .report import Report

Benchmark = Callable[[Path, argparse.Namespace], Coroutine[None, None, list[Report]]]


async def ingest(workdir: Path, args: argparse.Namespace) -> list[Report]:
    return [await vote_ingest.run(workdir, voters=args.voters, connections=args.connections,
                                  profile=args.profile)]


async def fanout(workdir: Path, args: argparse.Namespace) -> list[Report]:
    return [await fan_out.run(workdir, followers=args.followers, shared_inboxes=shared,
                              profile=args.profile)
            for shared in (None, args.shared_inboxes)]


BENCHMARKS: dict[str, Benchmark] = {"vote-ingest": ingest, "fan-out": fanout}


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    return (f"{os.cpu_count()} CPU(s), {model}; Python {platform.python_version()},"
            f" {platform.system()} {platform.release()}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="*", metavar="BENCHMARK",
                        help=f"run only these ({', '.join(BENCHMARKS)}); default all")
    parser.add_argument("--voters", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--shared-inboxes", type=int, default=1000)
    parser.add_argument("--profile", action="store_true",
                        help="record the instance with py-spy while it works (implies --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    if unknown := set(args.only) - set(BENCHMARKS):
        parser.error(f"no benchmark {', '.join(sorted(unknown))}; try {', '.join(BENCHMARKS)}")
    args.keep = args.keep or args.profile
    print(f"machine: {machine()}", flush=True)
    started = time.monotonic()
    reports: list[Report] = []
    workdir = Path(tempfile.mkdtemp(prefix="peiling-bench-"))
    try:
        for name in args.only or list(BENCHMARKS):
            for report in asyncio.run(BENCHMARKS[name](workdir, args)):
                print(report.render(), flush=True)
                reports.append(report)
    finally:
        if args.keep:
            print(f"logs and databases kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = [r.title for r in reports if r.failures]
    missed = [f"{r.title}: {name}" for r in reports for name in r.missed]
    print(f"== summary ({time.monotonic() - started:.0f} s)")
    print("  speed targets missed: " + ("; ".join(missed) if missed else "none"))
    print("  correctness: " + ("FAILED in " + "; ".join(failed) if failed else "all counts exact"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
