#!/usr/bin/env bash
# Fuzzes the harmony parsers (chord symbols, Roman numerals, scales, keys,
# notes, intervals, progressions) with cargo-fuzz and libFuzzer.
#
#   scripts/fuzz.sh [seconds]      default 300
#
# Needs a nightly toolchain (rustup toolchain install nightly) and
# cargo-fuzz, which this script installs with `cargo install` if missing.
# Crashes land in fuzz/artifacts/harmony_parsers/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "fuzz.sh: seconds must be a whole number, got '$seconds'" >&2
  exit 2
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz.sh: needs a nightly toolchain: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
mkdir -p fuzz/corpus/harmony_parsers
# Seed the corpus with the vocabulary, so the fuzzer starts from valid input.
for s in C Cm7 F#m7b5 Bb13#11 'EbmMaj7' 'A7(b9,#11)' D6/9 Gsus4 CΔ9 E7#9/G# \
  V7/V ii65 bVI 'vii°7/ii' Ger+6 N6 'C major' 'F# harmonic minor' 'Eb minor' \
  C4 Bb-1 P5 m10 'G major: I vi ii65 V7 I'; do
  printf '%s' "$s" > "fuzz/corpus/harmony_parsers/seed-$(printf '%s' "$s" | md5sum | cut -c1-12)"
done
cd fuzz
exec cargo +nightly fuzz run harmony_parsers corpus/harmony_parsers -- -max_total_time="$seconds"
