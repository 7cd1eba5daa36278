#!/usr/bin/env bash
# scripts/test_pythons.sh [VERSION...]: run the test suite on every CPython
# pyenv has here (default 3.10 3.11 3.12 3.13), compiled and pure.
#
# For each version: a fresh venv, a regular (not editable) install of this
# checkout with its test extra (so the extensions are built for that
# interpreter), then the tests from a copy of the checkout without the
# package (tests/, examples/, the docs and what they name) outside it, so
# `import corsfast` is the installed package: once as installed, once with CORSFAST_NO_EXTENSIONS=1.
# Prints one line per run and exits non-zero if any run failed.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(3.10 3.11 3.12 3.13)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/corsfast-pythons.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
status=0
summary=()

interpreter() {  # the newest pyenv CPython of a minor version, else pythonX.Y
    local want="$1" root
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root)"
        for dir in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
            [ -x "$dir/bin/python" ] && { echo "$dir/bin/python"; return; }
        done
    fi
    command -v "python$want" || true
}

for version in "${VERSIONS[@]}"; do
    python="$(interpreter "$version")"
    if [ -z "$python" ]; then
        summary+=("$version: no interpreter found"); status=1; continue
    fi
    venv="$WORK/venv-$version"
    "$python" -m venv "$venv"
    log="$WORK/install-$version.log"
    if ! { "$venv/bin/python" -m pip install -q --upgrade pip \
           && "$venv/bin/python" -m pip install -q "$ROOT[test]"; } >"$log" 2>&1; then
        tail -20 "$log"
        summary+=("$version: install failed"); status=1; continue
    fi
    run="$WORK/run-$version"
    mkdir -p "$run"
    # Everything the docs tests read and link to, but not the package itself.
    cp -r "$ROOT/tests" "$ROOT/examples" "$ROOT/scripts" "$ROOT/docs" \
        "$ROOT/benchmarks" "$ROOT/fuzz" "$ROOT/.ci" "$ROOT/pyproject.toml" \
        "$ROOT/README.md" "$ROOT/SECURITY.md" "$ROOT/CHANGELOG.md" "$ROOT/LICENSE" "$run/"
    for engine in cython python; do
        pure=""; [ "$engine" = python ] && pure=1
        out="$WORK/pytest-$version-$engine.log"
        (cd "$run" && CORSFAST_NO_EXTENSIONS="$pure" "$venv/bin/python" -m pytest -q \
            -p no:cacheprovider tests >"$out" 2>&1)
        code=$?
        line="$(grep -E '^[0-9]+ (passed|failed)|passed|failed' "$out" | tail -1)"
        summary+=("$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])') $engine: ${line:-no result} (exit $code)")
        if [ $code -ne 0 ]; then
            status=1
            grep -E '^(FAILED|ERROR)' "$out" | head -20
        fi
    done
done
printf '%s\n' "${summary[@]}"
exit $status
