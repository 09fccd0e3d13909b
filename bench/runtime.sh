#!/usr/bin/env bash
# What the runtime costs: the Rust and Go runtimes against their raw drivers and other
# pools, on throwaway PostgreSQL 15 servers on loopback with the example contract's
# schema. Prints markdown tables (docs/benchmarks.md records them).
# Usage: bench/runtime.sh [rust|go|all]
#        bench/runtime.sh ab BIN...
#   BENCH_ROUNDS, BENCH_QUERIES tune the Rust side; BENCH_GO_COUNT the Go side.
#   `ab` compares builds of the Rust harness (copies of target/release/runtime-bench)
#   on the one-core point read: BENCH_AB_RUNS (default 7) runs of each, builds
#   alternating run by run; prints each build's runs and the median of its "vs raw"
#   ratios. The ratio moves about ±0.005 between series on a shared VM.
#
# One point read at a time costs a few microseconds of CPU against tens of
# microseconds of scheduling: where the kernel puts the client and the server moves a
# loopback round trip between 15 and 90 µs on a small VM. So the per-query overhead is
# measured with both pinned: on one core (each round trip is two context switches; the
# client's own CPU cost shows most) and on two (a round trip crosses cores, as on most
# deployments). The concurrent benchmarks run unpinned, on a second server.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
what="${1:-all}"
if [ "$what" = ab ]; then
  shift
  if [ "$#" -eq 0 ]; then
    echo "bench/runtime.sh ab needs at least one runtime-bench binary" >&2
    exit 2
  fi
  for b in "$@"; do
    [ -x "$b" ] || { echo "bench/runtime.sh ab: $b is not an executable" >&2; exit 2; }
  done
fi
pinned_dir="$(mktemp -d)" free_dir="$(mktemp -d)"
cleanup() {
  "$root/scripts/pg-extra.sh" stop "$pinned_dir" >/dev/null 2>&1 || true
  "$root/scripts/pg-extra.sh" stop "$free_dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cores="$(nproc)"
last=$((cores - 1))
if [ "$cores" -lt 2 ] || ! command -v taskset >/dev/null; then
  echo "bench/runtime.sh needs two cores and taskset (util-linux)" >&2
  exit 1
fi
start() { # DIR [taskset core] -> the database's URL
  local dir="$1" port
  port="$(free_port)"
  if [ -n "${2:-}" ]; then
    taskset -c "$2" scripts/pg-extra.sh start "$dir" "$port" -c shared_buffers=128MB
  else
    scripts/pg-extra.sh start "$dir" "$port" -c shared_buffers=128MB
  fi
  psql -Xq -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bench"
  for f in contracts/migrations/*.up.sql; do
    psql -Xq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bench -f "$f" >/dev/null
  done
  echo "postgresql://postgres@127.0.0.1:$port"
}
pinned="$(start "$pinned_dir" "$last")"
if [ "$what" = ab ]; then
  for i in $(seq "${BENCH_AB_RUNS:-7}"); do
    for b in "$@"; do
      ratio="$(DATABASE_URL="$pinned/bench" BENCH_ROUNDS="${BENCH_ROUNDS:-15}" \
        taskset -c "$last" "$b" overhead | awk -F'|' '/^\| sqlpact runtime/ { gsub(/[ ×]/, "", $6); print $6 }')"
      echo "$b $ratio"
    done
  done | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    build, ratio = line.rsplit(None, 1)
    runs.setdefault(build, []).append(float(ratio))
print("| build | runtime vs raw, median | runs |")
print("|---|---:|---|")
for build, r in runs.items():
    shown = " ".join("%.3f" % x for x in r)
    print("| %s | %.3f | %s |" % (build, statistics.median(r), shown))
'
  exit 0
fi
free="$(start "$free_dir")"
echo "PostgreSQL $(psql -XAt "$free/bench" -c 'SHOW server_version'), $cores cores, $(uname -sm)"
echo
if [ "$what" = rust ] || [ "$what" = all ]; then
  cargo build --release --locked -q -p sqlpact-runtime-bench
  DATABASE_URL="$pinned/bench" taskset -c "$last" target/release/runtime-bench overhead \
    ", client and server on one core"
  DATABASE_URL="$pinned/bench" taskset -c 0 target/release/runtime-bench overhead \
    ", client and server on two cores"
  DATABASE_URL="$free/bench" target/release/runtime-bench concurrent
  DATABASE_URL="$free/bench" target/release/runtime-bench acquire
fi
if [ "$what" = go ] || [ "$what" = all ]; then
  count="${BENCH_GO_COUNT:-7}"
  cd "$root/tests/clients/go"
  echo "## Go: per-query overhead, client and server on one core"
  DATABASE_URL="$pinned/postgres" taskset -c "$last" go test -run '^$' -bench 'PointRead' \
    -benchtime 5000x -count "$count" -cpu 1 .
  echo "## Go: per-query overhead, client and server on two cores"
  DATABASE_URL="$pinned/postgres" taskset -c 0 go test -run '^$' -bench 'PointRead' \
    -benchtime 5000x -count "$count" -cpu 1 .
  echo "## Go: the runtime alone around a statement that does nothing, one core"
  (cd "$root/runtime/go" && DATABASE_URL="$pinned/postgres" taskset -c "$last" \
    go test -run '^$' -bench 'RunOverhead' -benchtime 50000x -count "$count" -cpu 1 .)
  echo "## Go: concurrent reads and pool acquire"
  DATABASE_URL="$free/postgres" go test -run '^$' -bench 'ConcurrentReads|Acquire' \
    -benchtime 2000x -count "$count" .
fi
