"""Helpers in a module of their own, with its own globals (for tests of inlining)."""

import math as m

RATE = 0.25
LIMIT = 2.0


def smooth_step(x):
    t = m.tanh(x / RATE)
    return 0.5 * (1 + t)


def clipped_growth(x, i):
    y = x
    for _ in range(i):
        y = y * 1.5
        if y > LIMIT:
            return LIMIT + m.log(y - LIMIT + 1)
    return y
