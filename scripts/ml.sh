#!/usr/bin/env bash
# Builds kmidi-ml's models (crates/ml/models/) with scripts/ml/make_models.py
# in target/venv, installed from the pinned scripts/ml/requirements.txt.
# Deterministic for a seed:
#   scripts/ml.sh [--seed 7]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/setup.sh
# MMA renders its groove library for the GroovePredictor's data.
ensure_packages scripts/ml.sh 1 mma
ensure_venv target/venv scripts/ml/requirements.txt
exec target/venv/bin/python scripts/ml/make_models.py "$@"
