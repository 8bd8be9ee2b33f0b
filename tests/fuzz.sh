#!/usr/bin/env bash
# CI smoke run of the cargo-fuzz targets in fuzz/ (params, frames, cli, state): builds them
# once, then runs each for FUZZ_SECONDS (default 25) from the committed corpus. Exits non-zero
# on a crash, printing the reproducer as hex, and closes with `fuzz: N passed, M failed`.
#
# cargo-fuzz needs -Z flags (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them, so no nightly is needed. New inputs go to a scratch directory: the
# committed corpus only changes by hand (see fuzz/README.md).
#
#   bash tests/fuzz.sh                  # every target, 25 s each
#   FUZZ_SECONDS=300 bash tests/fuzz.sh frames
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-25}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(params frames cli state)

export RUSTC_BOOTSTRAP=1
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
cargo fuzz --version

build_start=$(date +%s)
(cd fuzz && cargo fuzz build)
echo "fuzz: build took $(($(date +%s) - build_start)) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t"
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    leaks=1
    # cli::command() leaks its flag names on purpose (Box::leak, once per process in the
    # agent); per fuzz input that adds up (about 1.5 GB in 5 minutes), and LeakSanitizer
    # reports it at every exit: no leak checks, and room for the growth.
    if [ "$t" = cli ]; then
        leaks=0
        args+=(-detect_leaks=0 -rss_limit_mb=8192)
    fi
    log="$scratch/$t.log"
    touch "$scratch/$t.stamp"
    set +e
    (cd fuzz && ASAN_OPTIONS="detect_leaks=$leaks" cargo fuzz run "$t" "$scratch/$t" "corpus/$t" -- "${args[@]}") >"$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo "?")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "fuzz: $t ok: $runs runs in ${seconds} s, ${cov:-no coverage line}"
    else
        failed=$((failed + 1))
        echo "fuzz: $t FAILED (exit $rc)"
        { grep -E -A2 "panicked at" "$log" | head -20; grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -10; } || tail -40 "$log"
        for f in $(find fuzz/artifacts/"$t" -type f -newer "$scratch/$t.stamp" 2>/dev/null); do
            echo "fuzz: reproducer $f (hex):"
            od -An -tx1 -v "$f" | tr -d ' \n' | fold -w 120
            echo
            echo "fuzz: replay with: RUSTC_BOOTSTRAP=1 cargo fuzz run $t ${f#fuzz/}  (in fuzz/)"
        done
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
