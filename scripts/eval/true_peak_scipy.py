#!/usr/bin/env python3
"""Reads the limiter outputs that `cargo test -p kmidi-dsp --test true_peak
-- --ignored` writes to target/true-peak/ and measures their true peak with
scipy (resample_poly, 4x) and an FFT (ideal) interpolation: meters kmidi did
not write. Prints dB over the -1 dBFS ceiling the test uses."""
import glob
import os
import sys

import numpy as np
import scipy.signal as ss

CEILING_DB = -1.0
root = os.path.join(os.path.dirname(__file__), "..", "..", "target", "true-peak")
files = sorted(glob.glob(os.path.join(root, "*.f32")))
if not files:
    sys.exit("no outputs in target/true-peak: run cargo test -p kmidi-dsp --test true_peak -- --ignored")
worst = -100.0
for f in files:
    x = np.fromfile(f, dtype="<f4").astype(np.float64)
    poly = 20 * np.log10(np.abs(ss.resample_poly(x, 4, 1)).max()) - CEILING_DB
    ideal = 20 * np.log10(np.abs(ss.resample(x, 4 * len(x))).max()) - CEILING_DB
    name = os.path.basename(f)[:-4]
    print(f"{name:<60} resample_poly 4x {poly:+.2f} dB   FFT 4x {ideal:+.2f} dB")
    if name.startswith("true-peak"):
        worst = max(worst, poly, ideal)
print(f"true-peak mode, worst over both meters: {worst:+.2f} dB over the ceiling")
