#!/usr/bin/env bash
# An extra throwaway PostgreSQL 15 server beside pg_virtualenv's, for the tests that
# need a server configured otherwise (one without TLS). It trusts connections from
# 127.0.0.1 for the role postgres and keeps everything in DIR.
# Usage: scripts/pg-extra.sh start DIR PORT [-c guc=value ...]
#        scripts/pg-extra.sh stop DIR
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
as_owner() {
  # The server refuses to run as root.
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$1" in
  start)
    dir="$2" port="$3"
    shift 3
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb" --no-sync -D "$dir/data" -U postgres --auth=trust >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
      "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off $*" \
      start >/dev/null
    ;;
  stop)
    dir="$2"
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start DIR PORT [-c guc=value ...] | stop DIR" >&2
    exit 2
    ;;
esac
