#!/usr/bin/env bash
# The OpenAPI check (DESIGN §5, §15): `refund-gateway serve` on the embedded sandbox default,
# in a temporary directory and on a free loopback port, then schemathesis with every check
# against its /openapi.json, with a bounded number of examples per operation. Fails on any
# failure or server error (and on a panic in the gateway's log). The merchant key and the
# few documented exceptions are in ci/schemathesis.toml. schemathesis (PyPI, pinned) is
# installed into a cached venv when missing.
#
#   ci/schemathesis.sh                    # builds and uses target/debug/refund-gateway
#   GATEWAY_BIN=path MAX_EXAMPLES=50 ci/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

max_examples="${MAX_EXAMPLES:-50}"
venv="${SCHEMATHESIS_VENV:-$HOME/.cache/refund-gateway/schemathesis-venv}"
version="${SCHEMATHESIS_VERSION:-4.32.5}"

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  echo "installing schemathesis $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

if [ -n "${GATEWAY_BIN:-}" ]; then
  bin="$GATEWAY_BIN"
else
  cargo build --quiet --bin refund-gateway   # a no-op when the tests just built it
  bin="$root/target/debug/refund-gateway"
fi

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
gateway_pid=""
cleanup() {
  if [ -n "$gateway_pid" ]; then
    kill "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# In its own directory: no config/gateway.toml there, so `serve` uses the embedded default
# (SQLite in ./data, the three simulators in-process, merchant key sk_sandbox_demo).
(cd "$work" && exec "$bin" serve --listen "127.0.0.1:$port" >"$work/gateway.log" 2>&1) &
gateway_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$gateway_pid" 2>/dev/null || { cat "$work/gateway.log"; exit 1; }
  sleep 0.1
done

started=$(date +%s)
status=0
"$venv/bin/schemathesis" --config-file "$root/ci/schemathesis.toml" run "$base/openapi.json" \
  --checks all \
  --max-examples "$max_examples" \
  --continue-on-failure \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --suppress-health-check too_slow \
  --report-dir "${REPORT_DIR:-$work/report}" ${REPORT:+--report "$REPORT"} \
  || status=$?
echo "schemathesis: exit $status, $(( $(date +%s) - started )) s"
if grep -q "panicked" "$work/gateway.log"; then
  echo "the gateway panicked:"; grep -A5 "panicked" "$work/gateway.log"; status=1
fi
exit "$status"
