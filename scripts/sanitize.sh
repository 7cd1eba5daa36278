#!/usr/bin/env bash
# Run the test suite against the extension built with AddressSanitizer and
# UndefinedBehaviorSanitizer: scripts/sanitize.sh [pytest args...]
#
# The extension is built from src/ into a temporary copy of the checkout
# (the checkout itself is never touched), then pytest runs tests/ from that
# copy with the ASan runtime preloaded (CPython itself is not instrumented,
# so the runtime must come first). Settings:
#   PYTHONMALLOC=malloc      every Python object goes through malloc, so ASan
#                            sees overflows and use-after-free of objects too
#   detect_leaks=0           CPython keeps interned and static objects alive
#                            at exit; those are not leaks of this extension
#   quarantine_size_mb=16    freed memory is held back (to catch use after
#                            free) but bounded, so tests/test_memory.py can
#                            still measure resident memory meaningfully
#   -fno-sanitize-recover    the first undefined behaviour aborts the run
# Environment: PYTHON (default python3), CC (default gcc), SANITIZE_KEEP=1
# keeps the temporary directory. Exit status is pytest's (or the build's).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
CC="${CC:-gcc}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/corsfast-sanitize.XXXXXX")"
cleanup() { if [ "${SANITIZE_KEEP:-0}" = 1 ]; then echo "sanitize: kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

mkdir -p "$WORK/repo"
bash "$ROOT/scripts/copy_checkout.sh" "$ROOT" "$WORK/repo"
rm -f "$WORK"/repo/src/corsfast/*.c   # always regenerate C from the .pyx

LIBASAN="$("$CC" -print-file-name=libasan.so)"
if [ ! -e "$LIBASAN" ]; then
    echo "sanitize: $CC has no libasan.so; install its AddressSanitizer runtime" >&2
    exit 2
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
echo "sanitize: building the extension with $CC $SAN"
cd "$WORK/repo"
CC="$CC" CFLAGS="$SAN -g -O1" LDFLAGS="$SAN" \
    "$PYTHON" setup.py -q build_ext --inplace >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log"; exit 1; }

# Programs the tests start that are not Python (the browser test's Chromium
# and chromedriver) cannot run with the ASan runtime preloaded: shadow their
# names with wrappers that drop it. Python subprocesses keep it, since they
# import the sanitized extension too.
mkdir -p "$WORK/bin"
for tool in chromium chromium-browser chromedriver google-chrome; do
    real="$(command -v "$tool" || true)"
    [ -n "$real" ] || continue
    printf '#!/bin/sh\nunset LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS PYTHONMALLOC\nexec "%s" "$@"\n' \
        "$real" >"$WORK/bin/$tool"
    chmod +x "$WORK/bin/$tool"
done
export PATH="$WORK/bin:$PATH"

export LD_PRELOAD="$LIBASAN${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:quarantine_size_mb=16:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export PYTHONMALLOC=malloc PYTHONPATH="$WORK/repo" PYTHONDONTWRITEBYTECODE=1
unset CORSFAST_NO_EXTENSIONS

# Prove the sanitized build is the one under test before trusting the run.
"$PYTHON" - <<'PY'
import sys
import corsfast
from corsfast import _engine_c
print("sanitize: engine", corsfast.ENGINE, "from", _engine_c.__file__)
maps = open("/proc/self/maps").read()
if corsfast.ENGINE != "cython" or "/corsfast-sanitize." not in _engine_c.__file__:
    sys.exit("sanitize: the sanitized extension is not the one loaded")
if "libasan" not in maps:
    sys.exit("sanitize: the ASan runtime is not loaded")
PY

"$PYTHON" -m pytest -q -p no:cacheprovider tests/ "$@"
