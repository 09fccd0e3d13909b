#!/usr/bin/env bash
# Runs every test of sqlpact. Installs and starts what the tests need:
#   - PostgreSQL 15 (Debian packages), run as a throwaway cluster by pg_virtualenv,
#     plus a second throwaway server without TLS (scripts/pg-extra.sh);
#   - openssl (Debian package), which makes the TLS tests' certificates
#     (scripts/tls-certs.sh);
#   - the Rust toolchain's components (rustfmt, clippy) and the crates;
#   - the Go modules of the generated Go client and its tests (go downloads them);
#   - protoc-gen-go, the plugin that writes the Go wire messages (go install, pinned);
#   - toxiproxy, the fault suite's network faults (go install, pinned, into a cache
#     directory);
#   - cargo-deny, which checks the crates' licenses and banned crates (cargo install,
#     pinned; about three minutes to build the first time);
#   - Chromium (Debian packages) and playwright-core (npm, pinned by its lock file),
#     for the HTML changelog's browser test.
# Usage: scripts/test.sh            (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then echo "installing $1 needs root (or install it yourself)"; exit 2; fi
}

if ! command -v pg_virtualenv >/dev/null 2>&1 || [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
  log "installing PostgreSQL 15"
  need_root postgresql-15
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-common >/dev/null
fi

# The TLS tests' certificates are made with openssl.
if ! command -v openssl >/dev/null 2>&1; then
  log "installing openssl (the TLS tests' certificates)"
  need_root openssl
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi

# The HTML changelog is checked in Debian's Chromium, driven by playwright-core (which
# downloads no browser of its own).
if ! command -v chromium >/dev/null 2>&1; then
  log "installing Chromium (the HTML changelog's browser test)"
  need_root chromium
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
log "the browser test's packages (npm ci)"
(cd tests/browser && npm ci --no-audit --no-fund --silent)

for comp in rustfmt clippy; do
  if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
    log "installing the Rust component $comp"
    rustup component add "$comp"
  fi
done

# Pinned: the committed Go wire messages carry its version and output.
protoc_gen_go=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
export PATH="$(go env GOPATH)/bin:$PATH"
if [ "$(protoc-gen-go --version 2>/dev/null)" != "protoc-gen-go ${protoc_gen_go##*@}" ]; then
  log "installing $protoc_gen_go"
  go install "$protoc_gen_go"
fi

# Pinned; installed beside other versions, since its binary is plainly named `server`.
toxiproxy_version=v2.12.0
toxiproxy="${XDG_CACHE_HOME:-$HOME/.cache}/sqlpact/toxiproxy-$toxiproxy_version/server"
if [ ! -x "$toxiproxy" ]; then
  log "installing toxiproxy $toxiproxy_version"
  GOBIN="$(dirname "$toxiproxy")" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$toxiproxy_version"
fi

# Pinned, so that a new release's checks cannot fail a build that changed nothing.
cargo_deny_version=0.20.2
if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $cargo_deny_version" ]; then
  log "installing cargo-deny $cargo_deny_version"
  cargo install cargo-deny --locked --version "$cargo_deny_version"
fi

log "dependencies: licenses and banned crates (deny.toml)"
cargo deny --locked check licenses bans

log "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

log "build"
cargo build --release --locked

log "generated clients are up to date, gofmt- and vet-clean"
./target/release/sqlpact -c contracts/sqlpact.yaml generate --check
go_modules=(contracts/gen/go tests/clients/go tests/fixtures/generate/*/gen/go runtime/go)
unformatted="$(gofmt -l "${go_modules[@]}")"
if [ -n "$unformatted" ]; then echo "not gofmt-clean: $unformatted"; exit 1; fi
for m in "${go_modules[@]}"; do (cd "$m" && go vet ./...); done

log "tests (against a throwaway PostgreSQL 15)"
# The TLS tests' certificates, made fresh: an authority, the server's certificate for
# localhost signed by it, a client certificate, and an authority that signed nothing.
scratch="$(mktemp -d -t sqlpact-test.XXXXXX)"
cleanup() {
  if [ -n "${toxiproxy_pid:-}" ]; then kill "$toxiproxy_pid" 2>/dev/null || true; fi
  for d in notls rust-primary rust-standby go-primary go-standby rust-restart go-restart; do
    scripts/pg-extra.sh stop "$scratch/$d"
  done
  rm -rf "$scratch"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export SQLPACT_TEST_TLS_DIR="$scratch/tls"
scripts/tls-certs.sh "$SQLPACT_TEST_TLS_DIR"
# The server reads its key as the postgres user when the tests run as root.
chmod 755 "$scratch"
if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$SQLPACT_TEST_TLS_DIR"; fi
# A second server, without TLS, for the tests that `require` must refuse.
notls_port="$(free_port)"
scripts/pg-extra.sh start "$scratch/notls" "$notls_port" -c ssl=off
export SQLPACT_TEST_NOTLS_URL="postgresql://postgres@127.0.0.1:$notls_port/postgres"
# The fault suite's failover: per language (a promotion cannot be undone), a primary
# and a standby streaming from it.
for lang in rust go; do
  primary_port="$(free_port)"
  scripts/pg-extra.sh start "$scratch/$lang-primary" "$primary_port"
  standby_port="$(free_port)"
  scripts/pg-extra.sh standby "$scratch/$lang-standby" "$standby_port" "$primary_port"
  upper="${lang^^}"
  export "SQLPACT_TEST_FAILOVER_${upper}_PRIMARY=postgresql://postgres@127.0.0.1:$primary_port/postgres"
  export "SQLPACT_TEST_FAILOVER_${upper}_STANDBY=postgresql://postgres@127.0.0.1:$standby_port/postgres"
  export "SQLPACT_TEST_FAILOVER_${upper}_PRIMARY_DIR=$scratch/$lang-primary"
  # The fault suite's restart (scripts/pg-extra.sh restart); its log counts the dials.
  restart_port="$(free_port)"
  scripts/pg-extra.sh start "$scratch/$lang-restart" "$restart_port" -c log_connections=on
  export "SQLPACT_TEST_RESTART_${upper}_URL=postgresql://postgres@127.0.0.1:$restart_port/postgres"
  export "SQLPACT_TEST_RESTART_${upper}_DIR=$scratch/$lang-restart"
done
# The fault suite's network faults: the tests make their proxies through its API.
toxiproxy_port="$(free_port)"
"$toxiproxy" -host 127.0.0.1 -port "$toxiproxy_port" >"$scratch/toxiproxy.log" 2>&1 &
toxiproxy_pid=$!
export SQLPACT_TEST_TOXIPROXY="127.0.0.1:$toxiproxy_port"
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$toxiproxy_port") 2>/dev/null; then break; fi
  sleep 0.1
done
# pg_virtualenv creates a cluster, exports PG* variables for it, runs the command and
# removes the cluster again. The server refuses to run as root; pg_virtualenv runs it
# as the postgres user. It serves TLS with the certificates above, and the role
# tls_client may log in only with the client certificate. `-t` keeps the cluster in a
# temporary directory even as root, and `-p` on a free port, so that a second run, or a
# cluster left by a killed one, does not stop this one.
pg_virtualenv -t -p "$(free_port)" -v 15 \
  -o ssl=on \
  -o "ssl_cert_file=$SQLPACT_TEST_TLS_DIR/server.pem" \
  -o "ssl_key_file=$SQLPACT_TEST_TLS_DIR/server.key" \
  -o "ssl_ca_file=$SQLPACT_TEST_TLS_DIR/ca.pem" \
  bash -c '
  set -euo pipefail
  export DATABASE_URL="postgresql://${PGUSER}:${PGPASSWORD}@${PGHOST}:${PGPORT}/${PGDATABASE}"
  export INSTA_UPDATE=no
  hba="$(psql -XAtc "SHOW hba_file")"
  { printf "hostssl all tls_client 127.0.0.1/32 cert\nhostssl all tls_client ::1/128 cert\n"; cat "$hba"; } > "$SQLPACT_TEST_TLS_DIR/hba"
  cat "$SQLPACT_TEST_TLS_DIR/hba" > "$hba"
  psql -XAtq -c "CREATE ROLE tls_client LOGIN" -c "SELECT pg_reload_conf()" >/dev/null
  cargo test --locked --workspace --all-targets --all-features
  echo
  echo "== the runtime core (Go): shared vectors, then each behaviour against PostgreSQL"
  (cd runtime/go && go test -count=1 ./...)
  echo
  echo "== the generated Go client against PostgreSQL"
  (cd tests/clients/go && go test -count=1 ./...)
  echo
  echo "== sqlpact verify on the shipped example"
  ./target/release/sqlpact -c contracts/sqlpact.yaml verify
'
