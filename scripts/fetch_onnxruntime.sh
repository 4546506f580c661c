#!/usr/bin/env bash
# Fetches what kmidi-ml loads at run time, each from a pinned PyPI wheel and
# checked against a pinned sha256:
#
#   * the ONNX Runtime shared library (ort's load-dynamic), from the
#     onnxruntime 1.32.0 wheel, to target/onnxruntime/libonnxruntime.so.1.32.0,
#     where .cargo/config.toml points ORT_DYLIB_PATH;
#   * two real models the session's tests run against Python onnxruntime's
#     recorded outputs: Silero VAD (silero-vad 6.2.3, MIT) and Basic Pitch
#     (basic-pitch 0.4.0, Apache-2.0), to target/models/.
#
#   scripts/fetch_onnxruntime.sh
#
# Needs python3 with pip (only to download the wheels; any Python version
# works, the wheels are chosen explicitly). Safe to rerun: it does nothing
# for files already there and correct.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  echo "fetch_onnxruntime.sh: this pins the Linux x86-64 library; on $(uname -s)-$(uname -m), download onnxruntime 1.32.0 for your platform and set ORT_DYLIB_PATH to it" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch <requirement> <wheel file> <member> <sha256 of member> <destination> [pip options...]
fetch() {
  local req=$1 wheel=$2 member=$3 sha=$4 dest=$5
  shift 5
  if [[ -f "$dest" ]] && echo "${sha}  ${dest}" | sha256sum --check --status; then
    echo "fetch_onnxruntime.sh: ${dest} is present and verified"
    return
  fi
  mkdir -p "$(dirname "$dest")"
  python3 -m pip download --quiet --no-deps "$@" "$req" -d "$tmp"
  python3 - "$tmp/$wheel" "$member" "$dest.partial" <<'PY'
import sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read(member))
PY
  local actual
  actual=$(sha256sum "$dest.partial" | cut -d' ' -f1)
  if [[ "$actual" != "$sha" ]]; then
    rm -f "$dest.partial"
    echo "fetch_onnxruntime.sh: sha256 mismatch for ${member} of ${req}: got ${actual}, want ${sha}" >&2
    exit 1
  fi
  mv "$dest.partial" "$dest"
  echo "fetch_onnxruntime.sh: installed ${dest} (sha256 verified)"
}

VERSION=1.32.0
fetch "onnxruntime==${VERSION}" \
  "onnxruntime-${VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl" \
  "onnxruntime/capi/libonnxruntime.so.${VERSION}" \
  6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f \
  "target/onnxruntime/libonnxruntime.so.${VERSION}" \
  --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
  --platform manylinux_2_28_x86_64

fetch "silero-vad==6.2.3" silero_vad-6.2.3-py3-none-any.whl \
  silero_vad/data/silero_vad.onnx \
  1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3 \
  target/models/silero_vad-6.2.3.onnx --only-binary=:all:

fetch "basic-pitch==0.4.0" basic_pitch-0.4.0-py2.py3-none-any.whl \
  basic_pitch/saved_models/icassp_2022/nmp.onnx \
  2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec \
  target/models/basic_pitch-0.4.0-nmp.onnx --only-binary=:all:
