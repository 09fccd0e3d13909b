#!/usr/bin/env bash
# Runs every test of sqlpact. Installs and starts what the tests need:
#   - PostgreSQL 15 (Debian packages), run as a throwaway cluster by pg_virtualenv;
#   - the Rust toolchain's components (rustfmt, clippy) and the crates;
#   - the Go modules of the generated Go client and its tests (go downloads them);
#   - protoc-gen-go, the plugin that writes the Go wire messages (go install, pinned);
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

# The throwaway cluster serves TLS with the "snakeoil" certificate of ssl-cert (the
# runtimes' TLS tests connect with sslmode=require).
if [ ! -e /etc/ssl/certs/ssl-cert-snakeoil.pem ]; then
  log "installing ssl-cert (the test server's TLS certificate)"
  need_root ssl-cert
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ssl-cert >/dev/null
  make-ssl-cert generate-default-snakeoil
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
# pg_virtualenv creates a cluster, exports PG* variables for it, runs the command and
# removes the cluster again. The server refuses to run as root; pg_virtualenv runs it
# as the postgres user.
pg_virtualenv -v 15 bash -c '
  set -euo pipefail
  export DATABASE_URL="postgresql://${PGUSER}:${PGPASSWORD}@${PGHOST}:${PGPORT}/${PGDATABASE}"
  export INSTA_UPDATE=no
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
