#!/usr/bin/env bash
# Runs the test binaries `cargo test --workspace` just built once more, as cargo runs them
# (each in its package's directory), without building anything, in one of two ways:
#
#   ci/test_binaries.sh at 'YYYY-MM-DD HH:MM:SS' [TZ]
#       every test at that UTC instant (the clock then runs on from it), through Debian's
#       libfaketime (`faketime`, installed when missing), with the machine's zone set to TZ
#       (default UTC): DESIGN §16 "Any hour, any zone". Monotonic clocks are left alone
#       (FAKETIME_DONT_FAKE_MONOTONIC=1), so timeouts and sleeps behave.
#   ci/test_binaries.sh without-postgres
#       every PostgreSQL variant (their names say `postgres`) without
#       REFUND_GATEWAY_TEST_POSTGRES_URL and without CI=true, as on a fresh clone: each must
#       skip cleanly (print "skipped" and pass), doing nothing that fails after the skip.
#
# Extra arguments after these go to every test binary (e.g. a name filter). SKIP_BINARIES
# (space-separated test target names, e.g. "recovery model") leaves those binaries out.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:?usage: ci/test_binaries.sh at 'YYYY-MM-DD HH:MM:SS' [TZ] | without-postgres}"
shift

# "<package directory>\t<executable>" of every test target, from cargo's own build plan
# (a no-op build when the tests were just built).
mapfile -t binaries < <(
  cargo test --workspace --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, os, sys
for line in sys.stdin:
    try:
        message = json.loads(line)
    except ValueError:
        continue
    if message.get("reason") == "compiler-artifact" and message.get("executable") and message.get("profile", {}).get("test"):
        print(os.path.dirname(message["manifest_path"]) + "\t" + message["executable"])
'
)
if [ "${#binaries[@]}" -eq 0 ]; then
  echo "no test binaries found" >&2
  exit 1
fi

run_all() {
  local failed=0
  for entry in "${binaries[@]}"; do
    local dir="${entry%%$'\t'*}" exe="${entry#*$'\t'}"
    local name skip
    name="$(basename "$exe")"
    for skip in ${SKIP_BINARIES:-}; do
      if [[ "$name" == "$skip"-* ]]; then
        echo "== $name (skipped: SKIP_BINARIES)"
        continue 2
      fi
    done
    echo "== $name"
    (cd "$dir" && "$@" "$exe" --quiet "${extra[@]}") || failed=1
  done
  return "$failed"
}

case "$mode" in
  at)
    instant="${1:?the UTC instant, 'YYYY-MM-DD HH:MM:SS'}"
    zone="${2:-UTC}"
    shift $(( $# < 2 ? $# : 2 ))
    extra=("$@")
    if ! command -v faketime >/dev/null; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -qq faketime >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq faketime >/dev/null; }
    fi
    echo "every test at $instant UTC (TZ=$zone)"
    # FAKETIME_DONT_RESET: a process a test starts (the gateway of tests/recovery) keeps
    # the test's clock instead of starting again at the instant.
    run_all env TZ="$zone" FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_RESET=1 faketime -f "@$instant"
    ;;
  without-postgres)
    extra=(postgres "$@")
    echo "every PostgreSQL variant without REFUND_GATEWAY_TEST_POSTGRES_URL and CI"
    run_all env -u REFUND_GATEWAY_TEST_POSTGRES_URL -u CI
    ;;
  *)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac
