#!/usr/bin/env bash
# The engine inside a real audio server (JACK), as a new user would run it.
#
#   scripts/jack.sh ci           # CI: 60 s of band at 48 kHz / 512 and at
#                                # 48 kHz / 64 inside JACK: 0 engine xruns and
#                                # output identical to the offline render, or
#                                # it fails; host xruns are reported as figures.
#                                # Also clippy and the JACK host's tests.
#   scripts/jack.sh soak [MIN]   # a MIN-minute soak (default 10) of band at
#                                # 48 kHz / 512 and / 64 in JACK, JSON in
#                                # target/kmidi-perf/soak-jack-<block>.json
#   scripts/jack.sh build        # just build kmidi-perf with JACK
#
# Installs the Debian packages it needs when run as root (jackd2 for the
# server, libjack-jackd2-dev and pkg-config because the jack crate's build
# asks pkg-config for JACK even though it loads libjack at run time), and
# builds kmidi-perf with its `jack` feature. kmidi-perf starts
# `jackd --no-realtime -d dummy` itself when no server is running, and
# stops it afterwards (its log: target/kmidi-perf/jackd*.log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode="${1:-ci}"
case "$mode" in
  ci|soak|build) ;;
  *) echo "jack.sh: unknown mode '$mode'; allowed: ci, soak, build" >&2; exit 2 ;;
esac

source scripts/lib/setup.sh
ensure_packages jack.sh 1 jackd2 libjack-jackd2-dev pkg-config
scripts/fetch_onnxruntime.sh >/dev/null
cargo build --release -q -p kmidi-perf --features jack -j2
perf=target/release/kmidi-perf
mkdir -p target/kmidi-perf

case "$mode" in
  build) ;;
  ci)
    cargo clippy -q -p kmidi-perf --all-targets --features jack -j2 -- -D warnings
    cargo test -q --release -p kmidi-perf --features jack --test jack_host -j2
    for block in 512 64; do
      echo "jack.sh: band, 48 kHz / $block, 60 s inside JACK"
      "$perf" run --host jack --jack-server start --blocks "$block" --seconds 60 \
        --max-engine-xruns 0 --server-log "target/kmidi-perf/jackd-ci-$block.log" \
        --save "target/kmidi-perf/jack-ci-$block.json" | tail -n 6
    done
    ;;
  soak)
    minutes="${2:-10}"
    for block in 512 64; do
      "$perf" soak --host jack --jack-server start --blocks "$block" --minutes "$minutes" \
        --server-log "target/kmidi-perf/jackd-soak-$block.log" \
        --save "target/kmidi-perf/soak-jack-$block.json"
    done
    ;;
esac
