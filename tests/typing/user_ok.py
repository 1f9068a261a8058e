"""A typed user script (checked by mypy --strict in tests/test_typing.py)."""

import math

import numpy as np
import numpy.typing as npt

import srcdiff


def loss(w: float, b: float) -> float:
    return math.sin(w) * b


@srcdiff.grad
def decorated(w: float, b: float) -> float:
    return math.sin(w) * b


@srcdiff.grad(wrt=("w", "b"))
def both(w: float, b: float) -> float:
    return w * b


def mean_square(x: npt.NDArray[np.float64]) -> float:
    return float(np.mean(x * x))


slope = decorated(1.0, 2.0)
slopes = both(1.0, b=2.0)
gradient = srcdiff.grad(mean_square)(np.ones(3))
value, derivative = srcdiff.value_and_grad(loss)(1.0, b=2.0)
tangent = srcdiff.jvp(loss)(1.0, 2.0, 1.0)
print(slope, slopes, gradient, value, derivative, tangent)
