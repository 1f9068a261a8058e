"""Interval bounds for the fuzzers: every generated value has a known range, so each
primitive is applied inside its domain and loops cannot overflow.

A variable's interval is an invariant: every value ever assigned to it lies inside, so
reading it anywhere (inside a loop, in a closure called later) is safe.
"""

from __future__ import annotations

import math

BIG = 1e6  # an interval reaching beyond this is squashed before it is stored


class Interval:
    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi=None):
        hi = lo if hi is None else hi
        if math.isnan(lo) or math.isnan(hi):
            lo, hi = -math.inf, math.inf
        self.lo, self.hi = float(min(lo, hi)), float(max(lo, hi))

    def __repr__(self):
        return f"[{self.lo:.3g}, {self.hi:.3g}]"

    # -- predicates --------------------------------------------------------
    @property
    def mag(self):
        return max(abs(self.lo), abs(self.hi))

    def finite(self, limit=BIG):
        return -limit <= self.lo and self.hi <= limit

    def within(self, other: "Interval") -> bool:
        return other.lo <= self.lo and self.hi <= other.hi

    def positive(self, margin=0.05):
        return self.lo >= margin

    def away_from_zero(self, margin=0.2):
        return self.lo >= margin or self.hi <= -margin

    def hull(self, other: "Interval") -> "Interval":
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))

    # -- arithmetic ----------------------------------------------------------
    def __add__(self, other):
        other = lift(other)
        return Interval(self.lo + other.lo, self.hi + other.hi)

    __radd__ = __add__

    def __neg__(self):
        return Interval(-self.hi, -self.lo)

    def __sub__(self, other):
        return self + (-lift(other))

    def __rsub__(self, other):
        return lift(other) - self

    def __mul__(self, other):
        other = lift(other)
        products = [_mul(a, b) for a in (self.lo, self.hi) for b in (other.lo, other.hi)]
        return Interval(min(products), max(products))

    __rmul__ = __mul__

    def reciprocal(self):
        if self.lo <= 0 <= self.hi:
            return Interval(-math.inf, math.inf)
        return Interval(1 / self.hi, 1 / self.lo)

    def __truediv__(self, other):
        return self * lift(other).reciprocal()

    def __rtruediv__(self, other):
        return lift(other) * self.reciprocal()

    def power_int(self, k: int) -> "Interval":
        if k == 0:
            return Interval(1.0)
        if k < 0 and self.lo <= 0 <= self.hi:  # 1 / x^|k| near 0 (exactly 0: it raises)
            return Interval(-math.inf, math.inf)
        values = [_pow(self.lo, k), _pow(self.hi, k)]
        if k % 2 == 0 and self.lo <= 0 <= self.hi:
            values.append(0.0)
        return Interval(min(values), max(values))

    def power_range(self, ks) -> "Interval":
        """``self ** k`` for every integer k in ``ks``."""
        result = None
        for k in ks:
            part = self.power_int(k)
            result = part if result is None else result.hull(part)
        return result


def _mul(a, b):
    if a == 0 or b == 0:
        return 0.0
    return a * b


def _pow(a, k):
    try:
        return a ** k
    except OverflowError:
        return math.inf if a > 0 or k % 2 == 0 else -math.inf


def lift(x) -> Interval:
    return x if isinstance(x, Interval) else Interval(x)


def monotone(function, iv: Interval, increasing=True) -> Interval:
    def f(v):
        try:
            return function(v)
        except OverflowError:
            return math.inf if (v > 0) == increasing else -math.inf
        except ValueError:
            return math.nan
    a, b = f(iv.lo), f(iv.hi)
    return Interval(a, b)


def cosh(iv):
    values = [math.cosh(min(iv.mag, 700))]
    low = 0.0 if iv.lo <= 0 <= iv.hi else min(abs(iv.lo), abs(iv.hi))
    return Interval(math.cosh(min(low, 700)), values[0])


def absolute(iv):
    if iv.lo >= 0:
        return iv
    if iv.hi <= 0:
        return -iv
    return Interval(0.0, iv.mag)


def pow_real(base: Interval, exponent: Interval) -> Interval:
    """``base ** exponent`` for a positive base."""
    candidates = []
    for b in (base.lo, base.hi):
        for e in (exponent.lo, exponent.hi):
            try:
                candidates.append(b ** e)
            except (OverflowError, ZeroDivisionError):
                candidates.append(math.inf)
    if exponent.lo <= 0 <= exponent.hi:
        candidates.append(1.0)
    return Interval(min(candidates), max(candidates))


def sin_cos(iv, kind):
    if iv.hi - iv.lo >= 2 * math.pi or not iv.finite():
        return Interval(-1.0, 1.0)
    function = math.sin if kind == "sin" else math.cos
    values = [function(iv.lo), function(iv.hi)]
    # the extrema inside: sin has maxima at pi/2 + 2k pi, cos at 2k pi
    offset = math.pi / 2 if kind == "sin" else 0.0
    k = math.ceil((iv.lo - offset) / math.pi)
    while offset + k * math.pi <= iv.hi:
        values.append(1.0 if k % 2 == 0 else -1.0)
        k += 1
    return Interval(min(values), max(values))


def floor(iv):
    if not iv.finite():
        return iv
    return Interval(math.floor(iv.lo), math.floor(iv.hi))


def minimum(*ivs):
    return Interval(min(i.lo for i in ivs), min(i.hi for i in ivs))


def maximum(*ivs):
    return Interval(max(i.lo for i in ivs), max(i.hi for i in ivs))


UNIT = Interval(-1.0, 1.0)
