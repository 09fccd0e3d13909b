#!/usr/bin/env bash
# Writes the certificates of the TLS tests into DIR, fresh on every run:
#   ca.pem, ca.key            the test certificate authority
#   server.pem, server.key    the server's, signed by it, for the name localhost only
#                             (so that 127.0.0.1 is a name it does not hold)
#   client.pem, client.key    a client certificate for the role tls_client, signed by it
#   other-ca.pem              an authority that signed none of them
# Usage: scripts/tls-certs.sh DIR
set -euo pipefail
dir="$1"
mkdir -p "$dir"
cd "$dir"
days=2
quiet() { "$@" 2>/dev/null; }

authority() { # name subject
  quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -out "$1.pem" -days "$days" -subj "$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

signed() { # name subject extensions
  quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -out "$1.csr" -subj "$2"
  printf '%s\n' "$3" > "$1.ext"
  quiet openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out "$1.pem" -days "$days" -extfile "$1.ext"
  rm -f "$1.csr" "$1.ext"
}

authority ca "/CN=sqlpact test CA"
authority other-ca "/CN=sqlpact other CA"
rm -f other-ca.key
signed server "/CN=localhost" "subjectAltName=DNS:localhost
extendedKeyUsage=serverAuth"
signed client "/CN=tls_client" "extendedKeyUsage=clientAuth"
chmod 600 ./*.key
