"""Forward-mode dual numbers: an oracle for gradients through control flow.

A program's own source is re-executed with ``math``, ``min``, ``max``, ``abs`` and
``float`` bound to dual-aware versions; the program then follows exactly the branches
the primal takes, and carries the directional derivative along. Independent of
srcdiff: no rule table, no source transformation.
"""

import inspect
import math
import sys
import textwrap
import types


class Dual:
    __slots__ = ("value", "tangent")

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent

    @staticmethod
    def lift(x):
        return x if isinstance(x, Dual) else Dual(x, 0.0)

    def __add__(a, b):
        b = Dual.lift(b)
        return Dual(a.value + b.value, a.tangent + b.tangent)

    __radd__ = __add__

    def __sub__(a, b):
        b = Dual.lift(b)
        return Dual(a.value - b.value, a.tangent - b.tangent)

    def __rsub__(a, b):
        return Dual.lift(b) - a

    def __mul__(a, b):
        b = Dual.lift(b)
        return Dual(a.value * b.value, a.tangent * b.value + a.value * b.tangent)

    __rmul__ = __mul__

    def __truediv__(a, b):
        b = Dual.lift(b)
        return Dual(a.value / b.value,
                    (a.tangent * b.value - a.value * b.tangent) / (b.value * b.value))

    def __rtruediv__(a, b):
        return Dual.lift(b) / a

    def __pow__(a, b):
        if isinstance(b, Dual):
            value = a.value ** b.value
            tangent = _power_base(a.value, b.value, a.tangent)
            if b.tangent:
                tangent += _power_exponent(a.value, b.value, value) * b.tangent
            return Dual(value, tangent)
        return Dual(a.value ** b, _power_base(a.value, b, a.tangent))

    def __rpow__(a, b):
        value = b ** a.value
        if not a.tangent:
            return Dual(value, 0.0)
        return Dual(value, _power_exponent(b, a.value, value) * a.tangent)

    def __mod__(a, b):
        b = Dual.lift(b)
        return Dual(a.value % b.value, a.tangent - (a.value // b.value) * b.tangent)

    def __rmod__(a, b):
        return Dual.lift(b) % a

    # piecewise constant: plain numbers, like comparisons
    def __floordiv__(a, b):
        return a.value // Dual.lift(b).value

    def __rfloordiv__(a, b):
        return Dual.lift(b).value // a.value

    def __int__(a): return int(a.value)
    def __trunc__(a): return math.trunc(a.value)
    def __floor__(a): return math.floor(a.value)
    def __ceil__(a): return math.ceil(a.value)

    def __round__(a, ndigits=None):
        return round(a.value) if ndigits is None else round(a.value, ndigits)

    def __neg__(a):
        return Dual(-a.value, -a.tangent)

    def __pos__(a):
        return a

    def __abs__(a):
        sign = (a.value > 0) - (a.value < 0)
        return Dual(abs(a.value), sign * a.tangent)

    def __lt__(a, b): return a.value < Dual.lift(b).value
    def __le__(a, b): return a.value <= Dual.lift(b).value
    def __gt__(a, b): return a.value > Dual.lift(b).value
    def __ge__(a, b): return a.value >= Dual.lift(b).value
    def __eq__(a, b): return a.value == Dual.lift(b).value
    def __ne__(a, b): return a.value != Dual.lift(b).value
    def __bool__(a): return bool(a.value)
    __hash__ = None

    def __repr__(a):
        return f"Dual({a.value!r}, {a.tangent!r})"

    def __format__(a, spec):  # f"{s:.3f}" in a printed message formats the value
        return format(a.value, spec)


def _power_base(base, exponent, tangent):
    """d(base ** exponent)/d base times the base's tangent; 0 when the exponent is 0 or
    the base does not move (no 0 * inf at a zero base)."""
    if not tangent or exponent == 0:
        return 0.0
    return exponent * base ** (exponent - 1) * tangent


def _power_exponent(base, exponent, value):
    """d(base ** exponent)/d exponent: 0 ** y is 0 near any y > 0."""
    if base == 0 and exponent > 0:
        return 0.0
    return value * math.log(base)


def _unary(function, derivative):
    def apply(x):
        if not isinstance(x, Dual):
            return function(x)
        value = function(x.value)  # raises where the function does
        if not x.tangent:
            return Dual(value, 0.0)
        return Dual(value, derivative(x.value) * x.tangent)
    apply.__name__ = function.__name__
    return apply


def _binary(function, derivatives):
    """``function(a, b)`` with ``derivatives(a, b) -> (d/da, d/db)`` (evaluated only
    for the arguments that move)."""
    def apply(a, b):
        if not isinstance(a, Dual) and not isinstance(b, Dual):
            return function(a, b)
        a, b = Dual.lift(a), Dual.lift(b)
        value = function(a.value, b.value)
        if not a.tangent and not b.tangent:
            return Dual(value, 0.0)
        da, db = derivatives(a.value, b.value)
        tangent = (da() * a.tangent if a.tangent else 0.0) + (db() * b.tangent if b.tangent else 0.0)
        return Dual(value, tangent)
    apply.__name__ = function.__name__
    return apply


def _value(function):
    """A function of the value alone (piecewise constant, or a predicate)."""
    def apply(*args, **kwargs):
        return function(*[a.value if isinstance(a, Dual) else a for a in args], **kwargs)
    apply.__name__ = function.__name__
    return apply


def _constant(function):
    """A function without a derivative rule, which srcdiff calls on constants only: a
    dual number carrying a tangent is refused here as srcdiff refuses it."""
    def apply(*args):
        if any(isinstance(a, Dual) and a.tangent for a in args):
            raise TypeError(f"math.{function.__name__} has no derivative rule")
        return function(*[a.value if isinstance(a, Dual) else a for a in args])
    apply.__name__ = function.__name__
    return apply


def _sign(v):
    return (v > 0) - (v < 0)


def _log(x, base=None):
    if base is None:
        return _unary(math.log, lambda v: 1 / v)(x)
    return _binary(math.log, lambda v, b: (lambda: 1 / (v * math.log(b)),
                                           lambda: -math.log(v) / (b * math.log(b) ** 2)))(x, base)


def _pow(a, b):
    # math.pow's errors (a negative base with a fractional exponent), then the rule of **
    math.pow(Dual.lift(a).value, Dual.lift(b).value)
    result = Dual.lift(a) ** b if isinstance(a, Dual) else a ** b
    if isinstance(result, Dual):
        result.value = float(result.value)
    return result


def _hypot(*args):
    values = [Dual.lift(a) for a in args]
    value = math.hypot(*[v.value for v in values])
    if not any(v.tangent for v in values):
        return Dual(value, 0.0) if any(isinstance(a, Dual) for a in args) else value
    return Dual(value, sum(v.value / value * v.tangent for v in values if v.tangent))


_SQRT_PI = math.sqrt(math.pi)


def _fsum(values):
    """math.fsum: the exactly rounded sum of the values, the sum of their tangents."""
    values = [Dual.lift(v) for v in values]
    value = math.fsum(v.value for v in values)
    return Dual(value, sum(v.tangent for v in values))


def _dist(p, q):
    """math.dist: the same value (CPython's norm of the differences), d/dp_i = (p_i - q_i) / dist."""
    p, q = [Dual.lift(v) for v in p], [Dual.lift(v) for v in q]
    value = math.dist([v.value for v in p], [v.value for v in q])
    return Dual(value, sum((a.value - b.value) / value * (a.tangent - b.tangent)
                           for a, b in zip(p, q) if a.tangent or b.tangent))


def _fmod(a, b):
    """math.fmod: C's remainder, of the dividend's sign, ``a - q b`` for the quotient
    ``q`` truncated; d/da = 1, d/db = -q, with ``q`` from the exact quotient of the two
    floats (fractions), not from any rounding of ``a / b``."""
    from fractions import Fraction
    x, y = Dual.lift(a), Dual.lift(b)
    value = math.fmod(x.value, y.value)
    if not (x.tangent or y.tangent):
        return Dual(value, 0.0) if isinstance(a, Dual) or isinstance(b, Dual) else value
    quotient = int(Fraction(x.value) / Fraction(y.value))  # int() truncates toward zero
    return Dual(value, x.tangent - quotient * y.tangent)


def _prod(values, *, start=1):
    """math.prod: the start times each value, left to right."""
    result = start
    for value in values:
        result = result * value
    return result

DUAL_MATH = types.SimpleNamespace(
    sin=_unary(math.sin, math.cos), cos=_unary(math.cos, lambda v: -math.sin(v)),
    tan=_unary(math.tan, lambda v: 1 + math.tan(v) ** 2),
    asin=_unary(math.asin, lambda v: 1 / math.sqrt(1 - v * v)),
    acos=_unary(math.acos, lambda v: -1 / math.sqrt(1 - v * v)),
    atan=_unary(math.atan, lambda v: 1 / (1 + v * v)),
    atan2=_binary(math.atan2, lambda y, x: (lambda: x / (x * x + y * y),
                                            lambda: -y / (x * x + y * y))),
    sinh=_unary(math.sinh, math.cosh), cosh=_unary(math.cosh, math.sinh),
    tanh=_unary(math.tanh, lambda v: 1 - math.tanh(v) ** 2),
    asinh=_unary(math.asinh, lambda v: 1 / math.sqrt(v * v + 1)),
    acosh=_unary(math.acosh, lambda v: 1 / math.sqrt(v * v - 1)),
    atanh=_unary(math.atanh, lambda v: 1 / (1 - v * v)),
    exp=_unary(math.exp, math.exp), exp2=_unary(math.exp2, lambda v: math.log(2) * 2.0 ** v),
    expm1=_unary(math.expm1, math.exp), log=_log,
    log2=_unary(math.log2, lambda v: 1 / (v * math.log(2))),
    log10=_unary(math.log10, lambda v: 1 / (v * math.log(10))),
    log1p=_unary(math.log1p, lambda v: 1 / (1 + v)),
    sqrt=_unary(math.sqrt, lambda v: 0.5 / math.sqrt(v)),
    cbrt=_unary(math.cbrt, lambda v: 1 / (3 * math.cbrt(v) ** 2)),
    pow=_pow, hypot=_hypot, prod=_prod, fsum=_fsum, dist=_dist,
    erf=_unary(math.erf, lambda v: 2 / _SQRT_PI * math.exp(-v * v)),
    erfc=_unary(math.erfc, lambda v: -2 / _SQRT_PI * math.exp(-v * v)),
    fabs=_unary(math.fabs, _sign),
    copysign=_binary(math.copysign, lambda a, b: (lambda: _sign(a) * math.copysign(1.0, b),
                                                  lambda: 0.0)),
    degrees=_unary(math.degrees, lambda v: 180 / math.pi),
    radians=_unary(math.radians, lambda v: math.pi / 180),
    floor=_value(math.floor), ceil=_value(math.ceil), trunc=_value(math.trunc),
    isfinite=_value(math.isfinite), isinf=_value(math.isinf), isnan=_value(math.isnan),
    isclose=_value(math.isclose),
    gamma=_constant(math.gamma), lgamma=_constant(math.lgamma), fmod=_fmod,
    remainder=_constant(math.remainder), ldexp=_constant(math.ldexp),
    nextafter=_constant(math.nextafter), ulp=_constant(math.ulp),
    isqrt=_constant(math.isqrt), lcm=_constant(math.lcm), gcd=_value(math.gcd),
    factorial=_value(math.factorial), comb=_value(math.comb), perm=_value(math.perm),
    pi=math.pi, e=math.e, tau=math.tau, inf=math.inf, nan=math.nan,
)


def _min(*args):
    """Python's min: the first of equal values."""
    items = args[0] if len(args) == 1 else args
    best = None
    for item in items:
        if best is None or item < best:
            best = item
    return best


def _max(*args):
    items = args[0] if len(args) == 1 else args
    best = None
    for item in items:
        if best is None or item > best:
            best = item
    return best


def _float(x):
    """``float``: a dual number as it is; anything else (a string a program parses) as
    ``float`` makes it."""
    return x if isinstance(x, Dual) else float(x)


def _isinstance(value, classes):
    """``isinstance``, where the program's ``float`` is ``_float``: the class it stands
    for is ``float`` (a dual number is an instance of neither; programs test ints)."""
    def real(spec):
        if spec is _float:
            return float
        return tuple(real(s) for s in spec) if isinstance(spec, tuple) else spec
    return isinstance(value, real(classes))


def _stop(x):
    return Dual(x.value, 0.0) if isinstance(x, Dual) else x


def dual_version(func):
    """``func`` re-executed with dual-aware math, from its module's whole source (so the
    functions it calls are dual-aware too), or from its own source."""
    source = getattr(func, "program_source", None)
    module = sys.modules.get(func.__module__)
    if source is None and module is not None and getattr(module, "__file__", None) \
            and func.__qualname__ == func.__name__:
        source = inspect.getsource(module)
    if source is None:
        source = textwrap.dedent(inspect.getsource(func))
    namespace = dict(func.__globals__)
    exec(compile(source, "<dual oracle>", "exec"), namespace)
    # rebinding after the module's own `import math` ran; functions read globals late
    namespace.update(math=DUAL_MATH, min=_min, max=_max, abs=abs, float=_float,
                     isinstance=_isinstance)
    import srcdiff
    for name, value in list(namespace.items()):  # import math as m; from math import sin
        if value is srcdiff:  # srcdiff.stop_gradient(x): x without its tangent
            namespace[name] = types.SimpleNamespace(stop_gradient=_stop)
        elif value is srcdiff.stop_gradient:
            namespace[name] = _stop
        elif value is math:
            namespace[name] = DUAL_MATH
        elif callable(value) and getattr(value, "__module__", None) == "math":
            namespace[name] = getattr(DUAL_MATH, value.__name__)
    return namespace[func.__name__]


def forward_gradient(func, point, wrt):
    """The partial derivatives of ``func`` at ``point`` for the positions ``wrt``."""
    version = dual_version(func)
    result = []
    for i in wrt:
        args = [Dual(v, 1.0 if j == i else 0.0) if isinstance(v, float) else v
                for j, v in enumerate(point)]
        out = version(*args)
        result.append(out.tangent if isinstance(out, Dual) else 0.0)
    return result
