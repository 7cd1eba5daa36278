#!/usr/bin/env bash
# Fuzz the compiled engine for SECONDS (default 60): fuzz/run.sh [SECONDS] [libFuzzer args...]
#
# Builds the extension from src/ into a temporary copy of the checkout (the
# checkout itself is never touched): with clang, instrumented for libFuzzer
# coverage and AddressSanitizer; without clang, a plain build, so only the
# Python side (twin and policy code) guides the fuzzer. Then runs
# fuzz/fuzz_engine.py on a scratch corpus seeded from fuzz/corpus/.
#
# Environment: PYTHON (default: python3 on PATH); CLANG (default: clang,
# then clang-19..clang-14; "none" forces the plain build); FUZZ_ARTIFACTS
# (where crashing inputs go, default fuzz/artifacts/); FUZZ_KEEP=1 keeps the
# temporary directory, whose corpus/ holds the inputs this run found (copy
# the ones worth keeping into fuzz/corpus/).
# Exit status: 0 when no input failed, libFuzzer's status otherwise.
set -euo pipefail

SECONDS_TO_RUN="${1:-60}"
shift || true
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
ARTIFACTS="${FUZZ_ARTIFACTS:-$ROOT/fuzz/artifacts}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/corsfast-fuzz.XXXXXX")"
cleanup() { if [ "${FUZZ_KEEP:-0}" = 1 ]; then echo "fuzz: kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

if ! "$PYTHON" -c "import atheris" 2>/dev/null; then
    echo "fuzz: installing atheris"
    "$PYTHON" -m pip install -q atheris
fi
ATHERIS_DIR="$("$PYTHON" -c 'import atheris; print(atheris.path())')"

# A copy of the checkout, without VCS data, build output or built modules.
mkdir -p "$WORK/repo" "$WORK/corpus"
bash "$ROOT/scripts/copy_checkout.sh" "$ROOT" "$WORK/repo"
rm -f "$WORK"/repo/src/corsfast/*.c   # always regenerate C from the .pyx

CLANG="${CLANG:-}"
if [ "$CLANG" = none ]; then
    CLANG=""
elif [ -z "$CLANG" ]; then
    for candidate in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
        if command -v "$candidate" >/dev/null 2>&1; then CLANG="$candidate"; break; fi
    done
fi

PRELOAD=""
cd "$WORK/repo"
if [ -n "$CLANG" ]; then
    echo "fuzz: building the extension with $CLANG (libFuzzer coverage + ASan)"
    # Sanitizer flags go into CC only: the ASan runtime comes from atheris's
    # asan_with_fuzzer.so (preloaded below), not from linking.
    CC="$CLANG -fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer" \
    LDSHARED="$CLANG -shared" CFLAGS="-g -O1" \
        "$PYTHON" setup.py -q build_ext --inplace >"$WORK/build.log" 2>&1 \
        || { cat "$WORK/build.log"; exit 1; }
    PRELOAD="$ATHERIS_DIR/asan_with_fuzzer.so"
else
    echo "fuzz: WARNING: no clang found; building without native coverage," \
         "the fuzzer is guided by the Python twin only"
    "$PYTHON" setup.py -q build_ext --inplace >"$WORK/build.log" 2>&1 \
        || { cat "$WORK/build.log"; exit 1; }
fi

# The generated seeds reach every policy, request path and adapter shape.
env ${PRELOAD:+LD_PRELOAD="$PRELOAD"} ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1" \
    PYTHONPATH="$WORK/repo" PYTHONDONTWRITEBYTECODE=1 \
    "$PYTHON" fuzz/fuzz_engine.py --make-seeds "$WORK/corpus" >"$WORK/seeds.log" 2>&1 \
    || { cat "$WORK/seeds.log"; exit 1; }

mkdir -p "$ARTIFACTS"
status=0
env ${PRELOAD:+LD_PRELOAD="$PRELOAD"} \
    ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=0" \
    PYTHONPATH="$WORK/repo" PYTHONDONTWRITEBYTECODE=1 \
    "$PYTHON" fuzz/fuzz_engine.py "$WORK/corpus" "$ROOT/fuzz/corpus" \
        -dict=fuzz/cors.dict -max_total_time="$SECONDS_TO_RUN" -timeout=20 \
        -rss_limit_mb=4096 -max_len=8192 -print_final_stats=1 \
        -artifact_prefix="$ARTIFACTS/" "$@" || status=$?

rmdir "$ARTIFACTS" 2>/dev/null || true   # only crashing inputs leave it behind
exit "$status"
