#!/usr/bin/env bash
# An extra throwaway PostgreSQL 15 server beside pg_virtualenv's, for the tests that
# need a server configured otherwise (one without TLS). It trusts connections from
# 127.0.0.1 for the role postgres and keeps everything in DIR.
# A standby streams from such a server (pg_basebackup -R), for the failover tests.
# `restart` stops a server at once and starts it again in recovery, refusing every
# connection with 57P03 for SECONDS, then lets it finish recovery and serve (the
# fault suite's restart).
# Usage: scripts/pg-extra.sh start DIR PORT [-c guc=value ...]
#        scripts/pg-extra.sh standby DIR PORT PRIMARY_PORT
#        scripts/pg-extra.sh halt DIR     (stops the server at once, keeps DIR)
#        scripts/pg-extra.sh restart DIR SECONDS
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
    # Kept for `restart`, which starts the server with the same options.
    echo "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off $*" \
      > "$dir/options"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "$(cat "$dir/options")" \
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
  restart)
    dir="$2" refuse_for="$3"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    # A standby without a primary to stream from, and without hot standby: it replays
    # what it has and answers every connection with 57P03 until it is promoted.
    as_owner touch "$dir/data/standby.signal"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -W \
      -o "$(cat "$dir/options") -c hot_standby=off" start >/dev/null
    sleep "$refuse_for"
    as_owner "$bin/pg_ctl" -D "$dir/data" -w promote >/dev/null
    ;;
  stop)
    dir="$2"
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start DIR PORT [-c guc=value ...] | standby DIR PORT PRIMARY_PORT | halt DIR | restart DIR SECONDS | stop DIR" >&2
    exit 2
    ;;
esac
