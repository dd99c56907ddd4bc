#!/usr/bin/env bash
# Runs every cargo-fuzz target of refund-gateway for a short, bounded time; fails on any
# crash (a panic, an overflow, a broken invariant), leaving the input in
# fuzz/artifacts/<target>/.
#
#   bash fuzz/ci.sh                 # every target, FUZZ_SECONDS (default 20) each
#   FUZZ_SECONDS=60 bash fuzz/ci.sh money_parse
#
# - installs cargo-fuzz when missing (`cargo install cargo-fuzz --locked`);
# - uses the nightly toolchain when rustup has one, else stable with RUSTC_BOOTSTRAP=1
#   (cargo-fuzz needs nightly-only rustc flags);
# - builds once with debug assertions (so integer overflow panics) and no sanitizer (our
#   crates forbid `unsafe`; ASan would double the build and run time for little);
# - the committed seeds in fuzz/corpus/<target>/ are read, never written: new inputs go to
#   a scratch corpus that is thrown away.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-20}"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(money_parse ebuy_envelope webhook_signature statement_line refund_body)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
    echo "fuzz: using the nightly toolchain"
else
    export RUSTC_BOOTSTRAP=1
    echo "fuzz: no nightly toolchain; stable with RUSTC_BOOTSTRAP=1"
fi

# The fuzz build has flags of its own (coverage instrumentation), so it shares nothing with
# the workspace's target/: keep it in a cache outside the checkout, so that a CI run on a
# clean checkout of a machine that ran it before only rebuilds what changed.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/refund-gateway/fuzz-target}"
mkdir -p "$CARGO_TARGET_DIR"

flags=(--sanitizer none --debug-assertions --release)
if [ "${#targets[@]}" -eq 1 ]; then
    cargo "${toolchain[@]}" fuzz build "${flags[@]}" "${targets[0]}"
else
    cargo "${toolchain[@]}" fuzz build "${flags[@]}"
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    echo "fuzz: $target for ${seconds}s"
    if cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$target" \
        "$scratch/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        execs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')"
        echo "fuzz: $target ok, ${execs:-?} executions"
    else
        echo "fuzz: $target FAILED"
        tail -n 60 "$log"
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
