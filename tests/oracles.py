"""Independent oracles for gradients: SymPy and central differences.

Neither uses srcdiff's rule table. The SymPy oracle re-executes a function's own source
with ``math`` (and ``min``, ``max``, ``pow``, ``float``) bound to SymPy, then asks
``sympy.diff``.
"""

import inspect
import linecache
import math
import textwrap
import types

import sympy


def _log(x, base=None):
    return sympy.log(x) if base is None else sympy.log(x, base)


SYMPY_MATH = types.SimpleNamespace(
    sin=sympy.sin, cos=sympy.cos, tan=sympy.tan, asin=sympy.asin, acos=sympy.acos,
    atan=sympy.atan, atan2=sympy.atan2, sinh=sympy.sinh, cosh=sympy.cosh, tanh=sympy.tanh,
    asinh=sympy.asinh, acosh=sympy.acosh, atanh=sympy.atanh, exp=sympy.exp,
    exp2=lambda x: 2 ** x, expm1=lambda x: sympy.exp(x) - 1, log=_log,
    log2=lambda x: sympy.log(x, 2), log10=lambda x: sympy.log(x, 10),
    log1p=lambda x: sympy.log(1 + x), sqrt=sympy.sqrt, cbrt=sympy.cbrt, pow=lambda a, b: a ** b,
    hypot=lambda *xs: sympy.sqrt(sum(x ** 2 for x in xs)), erf=sympy.erf, erfc=sympy.erfc,
    fabs=sympy.Abs, copysign=lambda x, y: sympy.Abs(x) * sympy.sign(y),
    degrees=lambda x: x * 180 / sympy.pi, radians=lambda x: x * sympy.pi / 180,
    pi=sympy.pi, e=sympy.E, floor=sympy.floor, ceil=sympy.ceiling,
    prod=lambda values, start=1: sympy.Mul(start, *values), fsum=lambda values: sympy.Add(*values),
    dist=lambda p, q: sympy.sqrt(sum((a - b) ** 2 for a, b in zip(p, q))),
    lgamma=sympy.loggamma,  # (programs call it on constants only)
    fmod=lambda x, y: sympy.sign(x) * sympy.Mod(sympy.Abs(x), sympy.Abs(y)),  # the dividend's sign
)
SYMPY_BUILTINS = {"min": sympy.Min, "max": sympy.Max, "pow": lambda a, b: a ** b,
                  "float": lambda x: x, "abs": sympy.Abs, "math": SYMPY_MATH}


def sympy_version(func):
    """``func`` re-executed from its own source with SymPy in place of ``math``."""
    source = textwrap.dedent(inspect.getsource(func))
    source = "\n".join(line for line in source.splitlines()
                       if not line.lstrip().startswith("@"))
    namespace = dict(func.__globals__)
    namespace.update(SYMPY_BUILTINS)
    for name, value in list(namespace.items()):
        if value is math:
            namespace[name] = SYMPY_MATH
        elif callable(value) and getattr(value, "__module__", None) == "math":
            namespace[name] = getattr(SYMPY_MATH, value.__name__)
    if func.__closure__:
        namespace.update(zip(func.__code__.co_freevars,
                             (c.cell_contents for c in func.__closure__)))
    exec(compile(source, "<sympy oracle>", "exec"), namespace)
    return namespace[func.__name__]


def sympy_gradient(func, point, wrt):
    """The gradient of ``func`` at ``point`` (a tuple) for the parameter positions ``wrt``."""
    symbols = sympy.symbols(f"p0:{len(point)}", real=True)
    expression = sympy.sympify(sympy_version(func)(*symbols))
    values = dict(zip(symbols, point))
    return [float(sympy.diff(expression, symbols[i]).subs(values).evalf(30)) for i in wrt]


def central_difference(func, point, wrt, h=1e-6):
    result = []
    for i in wrt:
        step = h * max(1.0, abs(point[i]))
        up, down = list(point), list(point)
        up[i] += step
        down[i] -= step
        result.append((func(*up) - func(*down)) / (2 * step))
    return result


def assert_close(actual, expected, rel=1e-9, abs_=1e-12):
    actual, expected = list(actual), list(expected)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert math.isclose(a, e, rel_tol=rel, abs_tol=abs_), f"{actual} != {expected}"


def sums(func, seen=None) -> bool:
    """Whether ``func``, or a function of its module it calls, calls ``sum()``: on Python
    3.12 and later the builtin adds floats with compensation (Neumaier), and srcdiff's
    value, added left to right, may differ from it in the last bits."""
    seen = set() if seen is None else seen
    if func in seen or not isinstance(func, types.FunctionType):
        return False
    seen.add(func)
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    if "sum(" in source:
        return True
    called = [func.__globals__.get(name) for name in func.__code__.co_names]
    called += [c.cell_contents for c in func.__closure__ or () if callable(c.cell_contents)]
    return any(sums(f, seen) for f in called)


def assert_same_value(value, func, point):
    """srcdiff's value of ``func`` at ``point`` is the function's, bit for bit, but where
    Python's ``sum()`` compensates (3.12+): there within 1e-14."""
    import sys
    expected = func(*point)
    if sys.version_info >= (3, 12) and sums(func):
        assert value == pytest_approx(expected, rel=1e-14)
    else:
        assert value == expected


def pytest_approx(expected, rel):
    import pytest
    return pytest.approx(expected, rel=rel)


def register_program(source: str, name: str, globals_=None):
    """Define the function ``name`` from ``source`` with its source readable by inspect."""
    filename = f"<test program {name} {abs(hash(source))}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"math": math, "__name__": "test_programs"}
    namespace.update(globals_ or {})
    exec(compile(source, filename, "exec"), namespace)
    function = namespace[name]
    function.program_source = source  # the whole module, helpers included (dual oracle)
    return function
