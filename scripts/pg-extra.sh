#!/usr/bin/env bash
# An extra throwaway PostgreSQL 15 server beside pg_virtualenv's, for the tests that
# need a server configured otherwise (one without TLS). It trusts connections from
# 127.0.0.1 for the role postgres and keeps everything in DIR.
# A standby streams from such a server (pg_basebackup -R), for the failover tests.
# Usage: scripts/pg-extra.sh start DIR PORT [-c guc=value ...]
#        scripts/pg-extra.sh standby DIR PORT PRIMARY_PORT
#        scripts/pg-extra.sh halt DIR     (stops the server at once, keeps DIR)
#        scripts/pg-extra.sh stop DIR     (stops it and removes DIR)
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
  standby)
    dir="$2" port="$3" primary="$4"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/data" \
      -R -X stream --no-sync --checkpoint=fast
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
      "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off" \
      start >/dev/null
    ;;
  halt)
    as_owner "$bin/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null
    ;;
  stop)
    dir="$2"
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start DIR PORT [-c guc=value ...] | standby DIR PORT PRIMARY_PORT | halt DIR | stop DIR" >&2
    exit 2
    ;;
esac
