#!/usr/bin/env bash
# Runs every client example against a real server, so that they cannot rot: starts bpaas on a
# free port with a fresh SQLite file, creates a tenant and an API key, then runs the curl,
# Python (requests + websockets, in a venv) and TypeScript (fetch + graphql-ws, types from
# graphql-codegen) examples with BPAAS_URL and BPAAS_API_KEY. `.ci/run` calls it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
cargo build --quiet --bin bpaas
bpaas="${CARGO_TARGET_DIR:-$root/target}/debug/bpaas"
db="sqlite://$work/clients.db?mode=rwc"
password="client-example-password"
echo "$password" | RUST_LOG=warn "$bpaas" tenant create --slug clients --name "Client examples" \
    --admin-email admin@clients.example --admin-password-stdin --database-url "$db" >/dev/null
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export BPAAS_URL="http://127.0.0.1:$port"
RUST_LOG=warn "$bpaas" serve --bind "127.0.0.1:$port" --database-url "$db" &
server=$!
for _ in $(seq 1 100); do
    curl -sf "$BPAAS_URL/readyz" >/dev/null && break
    sleep 0.2
done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -sf "$BPAAS_URL/graphql" -H 'Content-Type: application/json' \
    -d "{\"query\":\"mutation { login(tenant: \\\"clients\\\", email: \\\"admin@clients.example\\\", password: \\\"$password\\\") { token } }\"}" \
    | json '["data"]["login"]["token"]')
BPAAS_API_KEY=$(curl -sf "$BPAAS_URL/graphql" -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
    -d '{"query":"mutation { createApiKey(input: {name: \"client examples\", roles: [SUPPORT]}) { secret } }"}' \
    | json '["data"]["createApiKey"]["secret"]')
export BPAAS_API_KEY

echo "== curl"
"$here/curl.sh"

echo "== Python"
if [ ! -x "$here/python/.venv/bin/python" ]; then
    python3 -m venv "$here/python/.venv"
fi
"$here/python/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
"$here/python/.venv/bin/python" "$here/python/example.py"

echo "== TypeScript"
cd "$here/typescript"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent codegen >/dev/null
npm run --silent build
npm start --silent
