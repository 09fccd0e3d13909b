#!/usr/bin/env bash
# One fuzzing campaign: runs a libFuzzer target over its committed corpus for RUNS
# executions, keeps any crash in fuzz/artifacts/<target>/, then minimizes the corpus
# (cmin) to inputs that each cover some code edge no other kept input covers, so that
# the committed corpus stays small enough to replay in every test run.
# Usage: fuzz/run.sh TARGET [RUNS]     TARGET: registry | sql | proto | compat
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -euo pipefail
cd "$(dirname "$0")"
target="$1" runs="${2:-1000000}"
# No sanitizer: the code under test is safe Rust, so a panic is the failure looked
# for, and without instrumentation for memory errors a run is several times faster.
flags=(-O -s none)
cargo +nightly fuzz run "${flags[@]}" "$target" "corpus/$target" -- \
  -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
cargo +nightly fuzz cmin "${flags[@]}" "$target" "corpus/$target" -- -use_counters=0 -use_cmp=0
