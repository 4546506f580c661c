#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library that kmidi-ml loads at run time
# (ort's load-dynamic), from the onnxruntime 1.32.0 wheel on PyPI, and
# checks it against a pinned sha256.
#
#   scripts/fetch_onnxruntime.sh
#
# Puts it at target/onnxruntime/libonnxruntime.so.1.32.0, where
# .cargo/config.toml points ORT_DYLIB_PATH, so `cargo test` and `cargo bench`
# find it. Needs python3 with pip (only to download the wheel; any Python
# version works, the wheel is chosen explicitly). Safe to rerun: it does
# nothing if the library is already there and correct.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=1.32.0
WHEEL=onnxruntime-${VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl
MEMBER=onnxruntime/capi/libonnxruntime.so.${VERSION}
SHA256=6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f
DEST_DIR=target/onnxruntime
DEST=${DEST_DIR}/libonnxruntime.so.${VERSION}

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  echo "fetch_onnxruntime.sh: this pins the Linux x86-64 library; on $(uname -s)-$(uname -m), download onnxruntime ${VERSION} for your platform and set ORT_DYLIB_PATH to it" >&2
  exit 1
fi

check() {
  [[ -f "$DEST" ]] && echo "${SHA256}  ${DEST}" | sha256sum --check --status
}

if check; then
  echo "fetch_onnxruntime.sh: ${DEST} is present and verified"
  exit 0
fi

mkdir -p "$DEST_DIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --python-version 3.11 --implementation cp --abi cp311 \
  --platform manylinux_2_28_x86_64 \
  "onnxruntime==${VERSION}" -d "$tmp"
python3 - "$tmp/$WHEEL" "$MEMBER" "$DEST.partial" <<'PY'
import sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read(member))
PY
actual=$(sha256sum "$DEST.partial" | cut -d' ' -f1)
if [[ "$actual" != "$SHA256" ]]; then
  rm -f "$DEST.partial"
  echo "fetch_onnxruntime.sh: sha256 mismatch for ${MEMBER}: got ${actual}, want ${SHA256}" >&2
  exit 1
fi
mv "$DEST.partial" "$DEST"
echo "fetch_onnxruntime.sh: installed ${DEST} (sha256 verified)"
