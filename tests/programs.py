"""A shared collection of functions srcdiff must differentiate, each with a point.

Every entry is checked against SymPy (when ``sympy=True``) and central differences by
tests/test_gradients.py, with respect to every parameter, alone and all together.
"""

import math
import math as m
from math import erf, exp as exponential, log, sin

PROGRAMS = []

SCALE = 2.5  # a module constant read by a program


def program(*point, sympy=True):
    def register(func):
        PROGRAMS.append((func, point, sympy))
        return func
    return register


@program(3.0)
def lecture(x):
    f = x ** 2
    g = math.log(f)
    return g + 1


@program(2.0, 4.0)
def lecture_graph(a, b):
    c = a + b
    d = b - a
    e = c * d
    return e


@program(0.7, -1.3)
def nested_expression(x, y):
    return math.sin(x * y) + math.exp(-x ** 2) / (1 + y ** 2) - math.atan2(y, x)


@program(0.4)
def import_spellings(x):
    """math.sin, m.sin and sin are the same primitive."""
    return math.sin(x) * m.sin(x) + sin(x) + log(2 + x) + exponential(x) + erf(x)


@program(1.2, 0.8)
def reassignment(x, y):
    x = x * y
    x = x + math.cos(x)
    y = y * x
    return x * y


@program(1.5, 0.5)
def augmented_assignment(x, y):
    total = x
    total += y
    total *= x
    total -= y ** 2
    total /= 1 + y
    total **= 2
    return total


@program(0.3, 1.7)
def tuple_swap(a, b):
    a, b = b, a * b
    a, b = a + b, a - b
    return a * math.exp(b)


@program(0.9)
def chained_targets(x):
    y = z = x * 2
    return y * z


@program(1.3, 0.6)
def annotated(x: float, y: float) -> float:
    s: float = x * y
    return s ** 0.5 + y ** x


@program(0.8, 1.9)
def builtins_min_max_abs(x, y):
    return min(x, y) * max(x, y, 1.0) + abs(x - y) + pow(x, 3) + pow(y, x)


@program(0.6, 1.4)
def inverse_trig_and_hyperbolic(x, y):
    a = math.asin(x) + math.acos(x / 2) + math.atan(y) + math.tan(x)
    b = math.sinh(x) * math.cosh(y) + math.tanh(x * y)
    c = math.asinh(y) + math.acosh(1 + y) + math.atanh(x / 2)
    return a * b + c


@program(1.7, 2.5)
def logarithms_and_roots(x, y):
    return (math.log(x, y) + math.log2(x) + math.log10(y) + math.log1p(x)
            + math.sqrt(x * y) + math.cbrt(y) + math.exp2(x) + math.expm1(y))


@program(0.4, -0.7)
def special_and_sign(x, y):
    return (math.erf(x) + math.erfc(y) + math.hypot(x, y) + math.fabs(y)
            + math.copysign(x, y) + math.degrees(x) * math.radians(y) + math.pow(x * x, y))


@program(0.4, -0.7)
def exactly_rounded_sums(x, y):
    # math.fsum: one primitive over its elements; hypot of five values: a rule family
    return math.fsum([x * y, math.sin(x), y, 1e-17]) * math.hypot(x, y, 0.5, x * y, 1.0)


@program(2.3, 0.7, sympy=False)
def nondifferentiable_parts(x, y):
    n = math.floor(x)
    r = x % y
    q = x // y
    positive = x > 0
    return n * x + r * y + q + positive * y + round(x) + math.trunc(y)


@program(1.1)
def module_constant(x):
    return SCALE * x ** 2 + math.pi * x + math.e + float(x)


def make_scaled(k):
    def scaled(x):
        return k * math.sin(x)
    return scaled


closure = make_scaled(3.0)
PROGRAMS.append((closure, (0.5,), True))


@program(0.5, 2.0, 3.0)
def defaults(x, y=2.0, z=3.0):
    return x * y + z * x ** 2


@program(0.7, 5)
def integer_parameter(x, n):
    return x ** n + n * x


@program(1.0)
def constant_output(x):
    y = x * 2
    return 3.0


@program(0.25, 0.5)
def shared_subexpressions(x, y):
    u = x * y
    v = u + x
    w = u * v
    return w + u / v


@program(-1.5)
def negative_literals(x):
    return -x ** 2 + (-2) ** 2 * x - (-x) + x * -3


@program(2.3, 0.7, sympy=False)
def truncated_remainder(x, y):
    # math.fmod: x - trunc(x / y) y, the dividend's sign (2.3 - 3 * 0.7; -2.3 too)
    return math.fmod(x, y) * y + math.fmod(-x, y) * x
