#!/usr/bin/env bash
# Model-checks the SPSC ring buffer's index protocol with loom.
# Builds with --cfg loom in its own target directory so the normal build
# cache is untouched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
RUSTFLAGS="--cfg loom" cargo test -p kmidi-dsp --test loom_ring --release \
  --target-dir target/loom -- --test-threads=1
