"""Programs with ``raise`` statements, as people write them to check their input: a
``raise`` runs as written in the gradient's forward sweep (and in forward mode's code),
where the function raises, with its message; nothing of it reaches the backward sweep.
Each program comes with a point where it returns and one where it raises. Checked by
tests/test_raise.py against central differences and dual numbers, and by
tests/test_translation_validation.py in every optimisation setting."""

import math

import numpy as np

RAISE = []       # (function, a point where it returns)
RAISING = []     # (function, a point where it raises, the exception, its message)


def program(point, raising, error, message):
    def register(func):
        RAISE.append((func, point))
        RAISING.append((func, raising, error, message))
        return func
    return register


@program((0.7,), (-0.5,), ValueError, "x must be positive, got -0.5")
def checked_log(x):
    if x <= 0:
        raise ValueError(f"x must be positive, got {x}")
    return math.log(x) * x


@program((0.3, 2), (2.5, 4), OverflowError, "diverged at step 0: 5.598472144103956")
def diverges_in_loop(x, n):
    s = x
    for i in range(n):
        s = s * 2.0 + math.sin(s)
        if abs(s) > 5.0:
            raise OverflowError(f"diverged at step {i}: {s}")
    return s


def _positive(y):
    if y <= 0.0:
        raise ValueError("not positive: " + str(y))
    return math.sqrt(y)


@program((1.5, 0.4), (0.5, 0.4), ValueError, "not positive: -0.10000000000000003")
def checked_in_a_helper(x, d):
    gap = x - d - 0.2
    return _positive(x * x) * _positive(gap)


@program((2.0,), (0.5,), ValueError, "small: 0.5")
def raises_after_the_return(x):
    if x > 1.0:
        return x ** 3
    raise ValueError(f"small: {x!r}")


@program((0.8,), (3.0,), ArithmeticError, "float 3.000")
def computes_then_raises(x):
    y = math.tanh(x) + x
    if y > 3.5:
        shown = y - math.tanh(x)
        raise ArithmeticError(f"{type(shown).__name__} {shown:.3f}")
    return y * y


@program((np.array([0.3, -0.2, 0.5]), 1.5), (np.array([0.3, -0.2]), 1.5), ValueError,
         "expected 3 weights, got (2,)")
def checked_shapes(w, scale):
    if w.shape != (3,):
        raise ValueError(f"expected 3 weights, got {w.shape}")
    return np.sum(np.tanh(w * scale) ** 2)


@program((np.array([0.3, 0.1, 0.5]), 0.5), (np.array([0.3, np.nan, 0.5]), 0.5),
         FloatingPointError, "not finite: [0.3 nan 0.5]")
def checked_rows(v, t):
    total = 0.0
    for row in v:
        if not np.isfinite(row):
            raise FloatingPointError(f"not finite: {v}")
        total = total + np.sin(row * t)
    return total
