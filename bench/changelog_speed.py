#!/usr/bin/env python3
"""Speed benchmark: `sqlpact changelog --tags 'v*'` over a long git history.

    python3 bench/changelog_speed.py [--sqlpact PATH] [--tags 50] [--queries 2000]
                                     [--runs 5] [--wire] [--compat] [--markdown FILE]

With --compat it times `sqlpact compat --transitive 'v*'` (the working tree, which is
the last tag, against every tag) on the same history instead, and checks that the
report names every tag.

Builds (once, into bench/.work/history-<tags>x<queries>[-wire]/) a git repository with
--tags tagged versions of a --queries-query contract (bench/history.py), then runs the
changelog over every tag once as a warm-up and --runs more times, and reports the
median, min and max wall time and the peak RSS (ru_maxrss from wait4). Each run writes
Markdown to a file, outside the repository; the runner checks that every tag has its
row in the matrix.

Target: 50 tags of a 2,000-query registry in under 5 s (both commands).

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, ".work")

sys.dont_write_bytecode = True
sys.path.insert(0, BENCH)
import history  # noqa: E402


def run(cmd: list[str], out_path: str, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one run, which exits with one of `ok`."""
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
    err = p.stderr.read().decode() if p.stderr else ""
    if os.waitstatus_to_exitcode(status) not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sqlpact", default=os.path.join(REPO, "target", "release", "sqlpact"))
    ap.add_argument("--tags", type=int, default=50)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--wire", action="store_true", help="the registry declares a wire format")
    ap.add_argument("--compat", action="store_true",
                    help="time `compat --transitive 'v*'` instead of the changelog")
    ap.add_argument("--markdown", help="also write the result table to this file")
    a = ap.parse_args(argv)
    if not os.access(a.sqlpact, os.X_OK):
        raise SystemExit(f"{a.sqlpact} is not built: run `cargo build --release`")

    name = f"history-{a.tags}x{a.queries}" + ("-wire" if a.wire else "")
    repo = os.path.join(WORK, name)
    marker = os.path.join(repo, ".git", "bench-complete")
    if not os.path.exists(marker):
        print(f"building {repo} ...", file=sys.stderr)
        labels = history.build(repo, a.tags, a.queries, a.wire, a.sqlpact)
        with open(marker, "w") as f:
            f.write("\n".join(labels))
    with open(marker) as f:
        labels = f.read().split("\n")

    cfg = os.path.join(repo, "sqlpact.yaml")
    if a.compat:
        cmd = [a.sqlpact, "-c", cfg, "compat", "--transitive", "v*", "--format", "json"]
    else:
        cmd = [a.sqlpact, "-c", cfg, "changelog", "--tags", "v*"]
    walls, rss = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "changelog.md")
        for i in range(a.runs + 1):
            # compat exits 1 when it finds a breaking change, as this history has.
            w, r = run(cmd, out, (0, 1) if a.compat else (0,))
            if i == 0 and a.compat:
                with open(out, encoding="utf-8") as f:
                    baseline = json.load(f)["baseline"]
                if baseline != f"{len(labels)} tags matching `v*`":
                    raise SystemExit(f"compared against {baseline}, not every tag")
                continue
            if i == 0:
                with open(out, encoding="utf-8") as f:
                    text = f.read()
                missing = [l for l in labels if f"| **{l}** |" not in text]
                if missing:
                    raise SystemExit(f"the matrix lacks the rows of {missing}")
                continue
            walls.append(w)
            rss.append(r)

    med = statistics.median(walls)
    rows = [
        "| command | tags | queries | wire | runs | median s | min s | max s | peak RSS MB |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
        f"| {'compat --transitive' if a.compat else 'changelog'} | {a.tags} | {a.queries} | "
        f"{'yes' if a.wire else 'no'} | {a.runs} | {med:.2f} | "
        f"{min(walls):.2f} | {max(walls):.2f} | {max(rss):.0f} |",
    ]
    table = "\n".join(rows)
    print(f"{platform.machine()}, {os.cpu_count()} cores")
    print(table)
    print(f"target: under 5 s: {'met' if med < 5 else 'NOT met'} (median {med:.2f} s)")
    if a.markdown:
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
