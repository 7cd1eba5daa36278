#!/usr/bin/env bash
# Build every distribution corsfast ships and check each one, end to end:
#
#   1. python -m build            the sdist, then a compiled wheel built from
#                                 that sdist alone (isolated env brings Cython)
#   2. the sdist's contents       .pyx/.pyi/py.typed in, generated .c/.so out
#   3. the compiled wheel         holds the extension; installed in a fresh
#                                 venv, corsfast.ENGINE is "cython"
#   4. CORSFAST_NO_EXTENSIONS=1 python -m build --wheel
#                                 a py3-none-any wheel; ENGINE is "python"
#   5. auditwheel show            the compiled wheel's manylinux policy
#   6. cibuildwheel --print-build-identifiers --platform linux
#
# The project is copied to a scratch directory first, so the checkout (and
# any in-place build in it) is left alone. Uncommitted files are included.
#
# Usage: scripts/check_dist.sh [WORKDIR]
#   PYTHON   interpreter that has build, auditwheel and cibuildwheel
#            (default: python3)
#   KEEP=1   keep WORKDIR afterwards (it is removed on success otherwise)

set -euo pipefail

PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/corsfast-dist.XXXXXX")}"
PROJECT="$WORK/project"
failures=0

step() { printf '\n=== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }

engine_of() {  # engine_of WHEEL -> prints corsfast.ENGINE from a fresh venv
    local venv="$WORK/venv-$(basename "$1" .whl)"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --no-deps "$1"
    (cd "$WORK" && "$venv/bin/python" -c 'import corsfast; print(corsfast.ENGINE)')
}

step "copy $ROOT -> $PROJECT"
mkdir -p "$PROJECT"
tar -C "$ROOT" \
    --exclude=.git --exclude=build --exclude=dist --exclude=wheelhouse \
    --exclude='*.egg-info' --exclude='*.so' --exclude='*.pyd' \
    --exclude='src/corsfast/*.c' --exclude='src/corsfast/*.html' --exclude=__pycache__ \
    --exclude=.mypy_cache --exclude=.pytest_cache --exclude=.ruff_cache \
    --exclude=.hypothesis --exclude=.benchmarks --exclude='.venv*' \
    -cf - . | tar -C "$PROJECT" -xf -
"$PYTHON" --version
"$PYTHON" -m build --version

# -- 1. sdist, then the compiled wheel from the sdist ---------------------------
step "1. python -m build (sdist, then a wheel from the sdist)"
(cd "$PROJECT" && "$PYTHON" -m build --outdir "$WORK/dist" . 2>&1) \
    | grep -E '^\* |Successfully built|corsfast: building|error|Error' || true
shopt -s nullglob
sdists=("$WORK"/dist/*.tar.gz)
wheels=("$WORK"/dist/*.whl)
if [[ ${#sdists[@]} -eq 1 && ${#wheels[@]} -eq 1 ]]; then
    ok "built $(basename "${sdists[0]}") and $(basename "${wheels[0]}")"
else
    bad "expected one sdist and one wheel in $WORK/dist: $(ls "$WORK/dist" 2>/dev/null)"
    exit 1
fi
SDIST="${sdists[0]}"
WHEEL="${wheels[0]}"
case "$(basename "$WHEEL")" in
    *-none-any.whl) bad "the default build made a pure wheel: $(basename "$WHEEL")" ;;
    *) ok "compiled wheel tag: $(basename "$WHEEL" .whl | cut -d- -f3-)" ;;
esac

# -- 2. sdist contents ----------------------------------------------------------
step "2. sdist contents"
tar -tzf "$SDIST" | sed 's|^[^/]*/||' | grep -v '/$' | sort > "$WORK/sdist.txt"
echo "$(wc -l < "$WORK/sdist.txt") files; top level:"
cut -d/ -f1 "$WORK/sdist.txt" | sort -u | tr '\n' ' '; echo
for needed in pyproject.toml setup.py LICENSE src/corsfast/_engine_c.pyx \
        src/corsfast/_engine_c.pxd src/corsfast/_adapters_c.pyx \
        src/corsfast/_verdicts_c.pyx corsfast/_verdicts_c.pyi corsfast/_verdicts_py.py \
        corsfast/_engine_c.pyi corsfast/_adapters_c.pyi corsfast/py.typed \
        corsfast/_engine_py.py corsfast/_adapters_py.py; do
    if grep -qx "$needed" "$WORK/sdist.txt"; then ok "sdist has $needed"
    else bad "sdist lacks $needed"; fi
done
generated="$(grep -E '\.(c|so|pyd|html)$' "$WORK/sdist.txt" || true)"
if [[ -z "$generated" ]]; then ok "no generated .c/.so/.html in the sdist"
else bad "generated files in the sdist: $generated"; fi

# -- 3. the compiled wheel ------------------------------------------------------
step "3. compiled wheel contents and engine"
"$PYTHON" -m zipfile -l "$WHEEL" > "$WORK/wheel.txt"
awk 'NR > 1 {printf "  %-60s %10s bytes\n", $1, $4}' "$WORK/wheel.txt"
for module in _engine_c _adapters_c _verdicts_c; do
    if grep -qE "^corsfast/$module\.[^ ]*\.(so|pyd) " "$WORK/wheel.txt"; then
        ok "the wheel holds corsfast.$module"
    else
        bad "no corsfast/$module extension in the wheel"
    fi
done
engine="$(engine_of "$WHEEL")"
if [[ "$engine" == cython ]]; then ok "installed compiled wheel: corsfast.ENGINE = $engine"
else bad "installed compiled wheel: corsfast.ENGINE = $engine (want cython)"; fi

# -- 4. the pure wheel ----------------------------------------------------------
step "4. CORSFAST_NO_EXTENSIONS=1 python -m build --wheel"
(cd "$PROJECT" && CORSFAST_NO_EXTENSIONS=1 "$PYTHON" -m build --wheel \
    --outdir "$WORK/dist-pure" . 2>&1) \
    | grep -E '^\* |Successfully built|corsfast: building|error|Error' || true
pure=("$WORK"/dist-pure/*.whl)
if [[ ${#pure[@]} -ne 1 ]]; then
    bad "expected one pure wheel in $WORK/dist-pure"
else
    case "$(basename "${pure[0]}")" in
        *-py3-none-any.whl) ok "pure wheel: $(basename "${pure[0]}")" ;;
        *) bad "pure wheel is not py3-none-any: $(basename "${pure[0]}")" ;;
    esac
    "$PYTHON" -m zipfile -l "${pure[0]}" > "$WORK/wheel-pure.txt"
    if grep -qE '\.(so|pyd) ' "$WORK/wheel-pure.txt"; then
        bad "the pure wheel holds a binary"
    else
        ok "the pure wheel holds no binary"
    fi
    engine="$(engine_of "${pure[0]}")"
    if [[ "$engine" == python ]]; then ok "installed pure wheel: corsfast.ENGINE = $engine"
    else bad "installed pure wheel: corsfast.ENGINE = $engine (want python)"; fi
fi

# -- 5. auditwheel --------------------------------------------------------------
step "5. auditwheel show $(basename "$WHEEL")"
if "$PYTHON" -m auditwheel --version > /dev/null 2>&1; then
    "$PYTHON" -m auditwheel show "$WHEEL" 2>&1 | tee "$WORK/auditwheel.txt" | sed 's/^/  /'
    if grep -qE 'manylinux_[0-9]+_[0-9]+_' "$WORK/auditwheel.txt"; then
        ok "consistent with $(grep -oE 'manylinux_[0-9]+_[0-9]+_[a-z0-9_]+' "$WORK/auditwheel.txt" | head -1)"
        echo "  (a locally built wheel is tagged linux_*; cibuildwheel runs"
        echo "   'auditwheel repair' in a manylinux container to retag it)"
    else
        bad "auditwheel reports no manylinux policy"
    fi
else
    echo "auditwheel is not installed for $PYTHON: skipped"
fi

# -- 6. cibuildwheel targets ----------------------------------------------------
step "6. cibuildwheel --print-build-identifiers --platform linux"
(cd "$PROJECT" && "$PYTHON" -m cibuildwheel --print-build-identifiers --platform linux) \
    | tee "$WORK/identifiers.txt" | tr '\n' ' '; echo
for want in cp310 cp311 cp312 cp313 cp314 cp314t; do
    for plat in manylinux_x86_64 manylinux_aarch64 musllinux_x86_64 musllinux_aarch64; do
        grep -qx "$want-$plat" "$WORK/identifiers.txt" || bad "missing target $want-$plat"
    done
done
if grep -qE '^(pp|gp)|cp315|i686' "$WORK/identifiers.txt"; then
    bad "unexpected targets: $(grep -E '^(pp|gp)|cp315|i686' "$WORK/identifiers.txt" | tr '\n' ' ')"
else
    ok "$(wc -l < "$WORK/identifiers.txt") targets: cp310-cp314 and cp314t, manylinux and musllinux, x86_64 and aarch64"
fi

# -- summary --------------------------------------------------------------------
step "summary"
ls -l "$WORK/dist" "$WORK/dist-pure"
if [[ $failures -eq 0 ]]; then
    echo "all checks passed"
    [[ "${KEEP:-0}" == 1 ]] && echo "kept $WORK" || rm -rf "$WORK"
else
    echo "$failures check(s) failed; artifacts kept in $WORK"
    exit 1
fi
