#!/usr/bin/env bash
# copy_checkout.sh SRC DEST: copy the checkout at SRC into DEST for a scratch
# build, without VCS data, build output, built modules or caches. Used by
# fuzz/run.sh and scripts/sanitize.sh, which never build in the checkout.
set -euo pipefail
SRC="$1"
DEST="$2"
mkdir -p "$DEST"
# GNU tar exits 1 when a file changed while it was read (a cache being
# written by another process): that is not an error for a scratch copy.
(tar -C "$SRC" --warning=no-file-changed --exclude=./.git --exclude=./build \
    --exclude='*.so' --exclude=__pycache__ --exclude='.*_cache' \
    --exclude=./.hypothesis --exclude=./.benchmarks --exclude=./dist \
    --exclude=./wheelhouse --exclude=./fuzz/artifacts -cf - . || [ $? = 1 ]) \
    | tar -C "$DEST" -xf -
