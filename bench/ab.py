#!/usr/bin/env python3
"""Two sqlpact builds side by side on the benchmark repositories.

    python3 bench/ab.py --old PATH [--new PATH] [--runs 5]

Times the two binaries alternately (one warm-up each, then --runs each) on the
repositories the other scripts build under bench/.work/ (run them first):

  - `compat --transitive 'v*'` and `changelog --tags 'v*'` on history-50x2000 and
    history-50x2000-wire (bench/changelog_speed.py, with and without --wire);
  - `compat --against v1.0.0` on compat-10000x2000 (bench/compat_speed.py).

Prints, per command, both medians, their ratio (new / old) and both peak RSS
(ru_maxrss from wait4). A missing repository is skipped with a note.

Standard library only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, ".work")

CASES = [
    ("compat --transitive", "history-50x2000", ["compat", "--transitive", "v*", "--format", "json"]),
    ("compat --transitive, wire", "history-50x2000-wire",
     ["compat", "--transitive", "v*", "--format", "json"]),
    ("changelog", "history-50x2000", ["changelog", "--tags", "v*"]),
    ("changelog, wire", "history-50x2000-wire", ["changelog", "--tags", "v*"]),
    ("compat, 10000 queries", "compat-10000x2000",
     ["compat", "--against", "v1.0.0", "--format", "json"]),
]


def run(binary: str, repo: str, args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of one run."""
    cfg = os.path.join(repo, "sqlpact.yaml")
    start = time.monotonic()
    p = subprocess.Popen([binary, "-c", cfg, *args], cwd=repo,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    return time.monotonic() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="the sqlpact binary to compare against")
    ap.add_argument("--new", default=os.path.join(REPO, "target", "release", "sqlpact"))
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    bins = {"old": os.path.abspath(a.old), "new": os.path.abspath(a.new)}
    print("| command | old median s | new median s | new / old | old peak MB | new peak MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, repo, args in CASES:
        path = os.path.join(WORK, repo)
        if not os.path.isdir(path):
            print(f"(skipped {name}: {path} is missing; run the script that builds it)", file=sys.stderr)
            continue
        times: dict[str, list[float]] = {k: [] for k in bins}
        peaks: dict[str, float] = {k: 0.0 for k in bins}
        codes: dict[str, set[int]] = {k: set() for k in bins}
        for i in range(a.runs + 1):
            for k, b in bins.items():
                t, rss, code = run(b, path, args)
                codes[k].add(code)
                if i > 0:
                    times[k].append(t)
                    peaks[k] = max(peaks[k], rss)
        if codes["old"] != codes["new"] or codes["new"] - {0, 1}:
            print(f"{name}: exit codes differ or failed: {codes}", file=sys.stderr)
            return 1
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        print(f"| {name} | {old:.2f} | {new:.2f} | {new / old:.2f} | {peaks['old']:.0f} | {peaks['new']:.0f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
