#!/usr/bin/env python3
"""Fits the degree-4 polynomials used by crates/dsp/src/fastmath.rs.

Least squares on Chebyshev nodes: log2(1+t) with p(0)=0, and 2^t with relative
error weighting, t in [0, 1). Prints the coefficients and the worst errors.
Needs numpy.
"""
import numpy as np

N = 4000
k = np.arange(N)
t = (1 - np.cos(np.pi * (k + 0.5) / N)) / 2
dense = np.linspace(0, 1, 200001)

A = np.vstack([t**i for i in range(1, 5)]).T
c_log, *_ = np.linalg.lstsq(A, np.log2(1 + t), rcond=None)
err = np.max(np.abs(np.vstack([dense**i for i in range(1, 5)]).T @ c_log - np.log2(1 + dense)))
print("log2 coefficients (t^1..t^4):", list(c_log), "worst abs error", err, "=", err * 6.0206, "dB")

# 2^t = 1 + t (c1 + c2 t + c3 t^2 + c4 t^3), constrained to p(0) = 1 and
# p(1) = 2 (so unity gain is exact and octaves join without a step):
# c4 = 1 - c1 - c2 - c3. Relative-error weighting.
y = np.exp2(t)
w = 1 / y
A = np.vstack([t - t**4, t**2 - t**4, t**3 - t**4]).T * w[:, None]
c, *_ = np.linalg.lstsq(A, (y - 1 - t**4) * w, rcond=None)
C = [*c, 1 - c.sum()]
p = 1 + dense * (C[0] + dense * (C[1] + dense * (C[2] + dense * C[3])))
print("exp2 coefficients (t^1..t^4):", C, "worst rel error", np.max(np.abs(p / np.exp2(dense) - 1)))
