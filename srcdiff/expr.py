"""The small language derivative rules are written in.

A rule's partial derivatives are Python lambdas over the primitive's parameters, written
with ordinary operators and the functions defined here (``sin``, ``exp``, ``select``...).
The *same* lambda is evaluated three ways, so a rule is written exactly once:

* with numbers: the value of the derivative (numeric checks, ``explain``);
* with SymPy symbols, inside :func:`sympy_mode`: the symbolic derivative that
  ``srcdiff.verify`` compares with ``sympy.diff``;
* with :class:`Code` values: the expression the generator emits.

``Code`` arithmetic simplifies as it builds (constant folding, ``x * 1``, ``x ** 1``,
``a * (1 / b)`` -> ``a / b``), so generated code reads like hand-written code:

>>> x, g = Code.name("x"), Code.name("g")
>>> render(g * (2 * x ** (2 - 1)))
'g * (2 * x)'
>>> render(g * (1 / x))
'g / x'
>>> render(g * -sin(x))
'-(g * math.sin(x))'
>>> render(g * select(x <= 0, 1, 0))
'g if x <= 0 else 0.0'
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import math
from collections.abc import Iterable, Iterator
from typing import Any, Callable, cast, overload

from .ir import set_anno

Number = (int, float)
# The SymPy module while rules are evaluated symbolically, else None. SymPy is imported
# only by the verifier, never by generated code or the runtime.
_sympy: contextvars.ContextVar[Any] = contextvars.ContextVar("srcdiff_sympy", default=None)
# True while rules are turned into code for array operands: functions become
# ``numpy.<name>`` and ``select`` becomes ``numpy.where``.
_arrays: contextvars.ContextVar[bool] = contextvars.ContextVar("srcdiff_arrays", default=False)
# While in array mode: the names that certainly hold numbers, not arrays (a Python float,
# being weak, takes the dtype of the arrays it meets; NumPy makes a float64 of numbers
# alone), and the array whose dtype a select of numbers takes (the target's), if any.
_numbers: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "srcdiff_numbers", default=frozenset())
_like: contextvars.ContextVar["Code | None"] = contextvars.ContextVar("srcdiff_like", default=None)
# While in array mode: how the code being generated names one of ``srcdiff.runtime``'s
# helpers (``adjoints``' and ``tangent``'s ``helper``), if it can call them
_helpers: contextvars.ContextVar["Callable[[str], Code] | None"] = contextvars.ContextVar(
    "srcdiff_helpers", default=None)


@contextlib.contextmanager
def sympy_mode(sympy_module: Any) -> Iterator[None]:
    """Evaluate rule functions (``sin``, ``pi``...) as their SymPy counterparts."""
    token = _sympy.set(sympy_module)
    try:
        yield
    finally:
        _sympy.reset(token)


@contextlib.contextmanager
def array_mode(enabled: bool = True, numbers: Iterable[str] = (),
               like: Code | None = None,
               helpers: Callable[[str], Code] | None = None) -> Iterator[None]:
    """Turn rules into NumPy code (``numpy.cos(x)``, ``numpy.where(c, a, b)``).
    ``numbers``: the names that hold numbers, not arrays; ``like``: an array whose dtype
    a ``numpy.where`` of numbers alone is given (see ``select``); ``helpers``: the name
    the code calls one of ``srcdiff.runtime``'s helpers by (see ``logistic``).

    >>> x, g, s = Code.name("x"), Code.name("g"), Code.name("s")
    >>> with array_mode():
    ...     render(g * sign(x)), render(g * select(x >= 0, 1, 0)), render(g * cos(x))
    ('g * numpy.sign(x)', 'numpy.where(x >= 0, g, 0.0)', 'g * numpy.cos(x)')
    >>> with array_mode(numbers={"s"}, like=Code.name("y")):
    ...     render(s * select(x >= s, 0, 1)), render(copysign(1, s))
    ('numpy.where(x >= s, numpy.zeros_like(y), s)', 'math.copysign(1, s)')
    """
    tokens = (_arrays.set(enabled), _numbers.set(frozenset(numbers)), _like.set(like),
              _helpers.set(helpers))
    try:
        yield
    finally:
        _arrays.reset(tokens[0])
        _numbers.reset(tokens[1])
        _like.reset(tokens[2])
        _helpers.reset(tokens[3])


def _is_number_code(value: Value) -> bool:
    """Whether ``value`` certainly is a number, not an array, in array mode: a constant,
    or a name ``array_mode`` was told holds a number."""
    return _is_num(value) or (isinstance(value, Code) and isinstance(value.node, ast.Name)
                              and value.node.id in _numbers.get())


# ---------------------------------------------------------------------------
# Code: an expression of the generated program, simplified as it is built
# ---------------------------------------------------------------------------

class Code:
    """An expression in generated code, wrapping an ``ast.expr``.

    Numbers are never wrapped: constructors return plain ``int``/``float`` for literals,
    which is what lets constant subexpressions fold.
    """

    __slots__ = ("node",)

    def __init__(self, node: ast.expr) -> None:
        self.node = node

    @staticmethod
    def name(identifier: str) -> "Code":
        return Code(ast.Name(identifier, ast.Load()))

    def __repr__(self) -> str:
        return f"Code({ast.unparse(self.node)})"

    def __bool__(self) -> bool:
        raise TypeError("a rule used a generated-code value as a Python condition; "
                        "write select(cond, a, b) instead of `if`")

    __add__ = lambda a, b: add(a, b)
    __radd__ = lambda a, b: add(b, a)
    __sub__ = lambda a, b: sub(a, b)
    __rsub__ = lambda a, b: sub(b, a)
    __mul__ = lambda a, b: mul(a, b)
    __rmul__ = lambda a, b: mul(b, a)
    __truediv__ = lambda a, b: div(a, b)
    __rtruediv__ = lambda a, b: div(b, a)
    __floordiv__ = lambda a, b: _binop(ast.FloorDiv(), a, b)
    __rfloordiv__ = lambda a, b: _binop(ast.FloorDiv(), b, a)
    __pow__ = lambda a, b: power(a, b)
    __rpow__ = lambda a, b: power(b, a)
    __neg__ = lambda a: neg(a)
    __pos__ = lambda a: a
    __lt__ = lambda a, b: _compare(ast.Lt(), a, b)
    __le__ = lambda a, b: _compare(ast.LtE(), a, b)
    __gt__ = lambda a, b: _compare(ast.Gt(), a, b)
    __ge__ = lambda a, b: _compare(ast.GtE(), a, b)


Value = Code | int | float


def literal(value: Any) -> ast.expr:
    """The AST of a number; negative numbers as unary minus, which ``ast.unparse``
    parenthesises correctly (it prints ``Constant(-2) ** x`` as ``-2 ** x``)."""
    if isinstance(value, bool) or not isinstance(value, Number):
        return ast.Constant(value)
    if value < 0 or (value == 0 and math.copysign(1.0, value) < 0):
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def node_of(value: Value | ast.expr) -> ast.expr:
    if isinstance(value, Code):
        return value.node
    if isinstance(value, ast.AST):
        return value
    return literal(value)


# Names generated code relies on, bound by the pipeline (``hygiene``) so that nothing the
# user binds can change what they mean: each maps to the object it must refer to.
RUNTIME = {"math": "math", "numpy": "numpy", "range": "builtins.range",
           "UnboundLocalError": "builtins.UnboundLocalError", "float": "builtins.float",
           "len": "builtins.len", "min": "builtins.min",  # len, min: iterate.py's
           "Checkpoints": "srcdiff.checkpoint:Checkpoints",  # checkpoint.py's
           "positional": "srcdiff.checkpoint:positional",
           "UNBOUND": "srcdiff.checkpoint:UNBOUND", "locals": "builtins.locals",
           "isinstance": "builtins.isinstance", "int": "builtins.int", "type": "builtins.type",
           "round": "builtins.round",  # nearest's
           "TypeError": "builtins.TypeError",  # analyse's checks of what a try assigns
           "ValueError": "builtins.ValueError"}  # normalize's check of an unpacking


def runtime_name(identifier: str) -> ast.Name:
    """A reference to one of ``RUNTIME``'s names in generated code, marked so that
    ``hygiene`` can rename it where the user's code gives the name another meaning."""
    node = ast.Name(identifier, ast.Load())
    set_anno(node, "runtime", identifier)
    return node


def dotted(path: str) -> ast.expr:
    """``numpy.linalg.inv`` as an ``Attribute`` chain (its root a ``runtime_name`` when
    it is ``math`` or ``numpy``)."""
    first, *rest = path.split(".")
    node: ast.expr = runtime_name(first) if first in RUNTIME else ast.Name(first, ast.Load())
    for part in rest:
        node = ast.Attribute(node, part, ast.Load())
    return node


def call(path: str, *args: Any, **keywords: Any) -> Code:
    """``path(*args, **keywords)`` in generated code; ``path`` is a dotted name."""
    return Code(ast.Call(dotted(path), [node_of(a) for a in args],
                         [ast.keyword(k, node_of(v)) for k, v in keywords.items()]))


def attribute(value: Value, name: str) -> Code:
    return Code(ast.Attribute(node_of(value), name, ast.Load()))


def item(value: Value, index: Value | ast.expr) -> Code:
    """``value[index]``; ``index`` is an ``ast`` index expression or a value."""
    return Code(ast.Subscript(node_of(value), node_of(index), ast.Load()))


def wrap(node: ast.expr) -> Value:
    """``node`` as a Code value, or as a plain number when it is a numeric literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, Number) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, Number) and not isinstance(node.operand.value, bool):
        return -node.operand.value
    return Code(node)


def render(value: Value) -> str:
    return ast.unparse(node_of(value))


def _is_num(value: object) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def _is(value: object, number: float) -> bool:
    return _is_num(value) and value == number


def _fold(op: Callable[..., Any], *args: Any) -> int | float | None:
    """Apply ``op`` to numbers, or return None when it raises (1/0, log(-1)...)."""
    try:
        result = op(*args)
    except (ArithmeticError, ValueError):
        return None
    return result if _is_num(result) else None


def _binop(op: ast.operator, a: Value, b: Value) -> Code:
    return Code(ast.BinOp(node_of(a), op, node_of(b)))


def _compare(op: ast.cmpop, a: Value, b: Value) -> Code:
    return Code(ast.Compare(node_of(a), [op], [node_of(b)]))


def negated(value: Value) -> Value | None:
    """The operand of ``-x``, or None when ``value`` is not a negation."""
    if isinstance(value, Code) and isinstance(value.node, ast.UnaryOp) \
            and isinstance(value.node.op, ast.USub):
        return wrap(value.node.operand)
    return None


def _reciprocal(value: Value) -> Value | None:
    """``b`` when ``value`` is ``1 / b``, else None."""
    if isinstance(value, Code) and isinstance(value.node, ast.BinOp) \
            and isinstance(value.node.op, ast.Div) and _is(wrap(value.node.left), 1):
        return wrap(value.node.right)
    return None


def _select_parts(value: Value) -> tuple[ast.expr, Value, Value] | None:
    if isinstance(value, Code) and isinstance(value.node, ast.IfExp):
        return value.node.test, wrap(value.node.body), wrap(value.node.orelse)
    node = value.node if isinstance(value, Code) else None
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "numpy.where" \
            and len(node.args) == 3 and not node.keywords:
        return node.args[0], wrap(node.args[1]), wrap(node.args[2])
    return None


def add(a: Value, b: Value) -> Value:
    if _is_num(a) and _is_num(b) and (folded := _fold(lambda p, q: p + q, a, b)) is not None:
        return folded
    if _is(a, 0):
        return b
    if _is(b, 0):
        return a
    if (inner := negated(b)) is not None:
        return sub(a, inner)
    if _is_num(b) and b < 0:
        return sub(a, -b)
    return _binop(ast.Add(), a, b)


def sub(a: Value, b: Value) -> Value:
    if _is_num(a) and _is_num(b) and (folded := _fold(lambda p, q: p - q, a, b)) is not None:
        return folded
    if _is(b, 0):
        return a
    if _is(a, 0):
        return neg(b)
    if (inner := negated(b)) is not None:
        return add(a, inner)
    return _binop(ast.Sub(), a, b)


def mul(a: Value, b: Value) -> Value:
    if _is_num(a) and _is_num(b) and (folded := _fold(lambda p, q: p * q, a, b)) is not None:
        return folded
    if _is(a, 0) or _is(b, 0):
        return 0  # zero adjoints are strong zeros, as in every reverse-mode tool
    if _is(a, 1):
        return b
    if _is(b, 1):
        return a
    if _is(a, -1):
        return neg(b)
    if _is(b, -1):
        return neg(a)
    for this, other in ((a, b), (b, a)):
        if (denominator := _reciprocal(other)) is not None:
            return div(this, denominator)
        if (parts := _select_parts(other)) is not None and (
                _is_num(parts[1]) or _is_num(parts[2])):
            test, body, orelse = parts
            return select(Code(test), mul(this, body), mul(this, orelse))
    if (inner := negated(b)) is not None:
        return neg(mul(a, inner))
    if (inner := negated(a)) is not None and not _is_num(b):
        return neg(mul(inner, b))
    return _binop(ast.Mult(), a, b)


def div(a: Value, b: Value) -> Value:
    if _is_num(a) and _is_num(b) and (folded := _fold(lambda p, q: p / q, a, b)) is not None:
        return folded
    if _is(b, 1):
        return a
    if _is(a, 0):
        return 0
    if (inner := negated(a)) is not None:
        return neg(div(inner, b))
    return _binop(ast.Div(), a, b)


def power(a: Value, b: Value) -> Value:
    if _is_num(a) and _is_num(b) and (folded := _fold(lambda p, q: p ** q, a, b)) is not None:
        return folded
    if _is(b, 1):
        return a
    if _is(b, 0):
        return 1
    if _is(b, 2) and isinstance(a, Code) and isinstance(a.node, ast.Name):
        return _binop(ast.Mult(), a, a)  # x * x: one rounding, and faster than x ** 2
    return _binop(ast.Pow(), a, b)


def neg(a: Value) -> Value:
    if _is_num(a):
        return -a
    if (inner := negated(a)) is not None:
        return inner
    return Code(ast.UnaryOp(ast.USub(), cast(Code, a).node))  # not a number: code


@overload
def select(condition: Code | ast.expr, if_true: Value, if_false: Value) -> Value: ...
@overload
def select(condition: Any, if_true: Value, if_false: Value) -> Any: ...
def select(condition: Any, if_true: Value, if_false: Value) -> Any:
    """``if_true`` where ``condition`` holds, else ``if_false`` (a piecewise value)."""
    sympy = _sympy.get()
    if isinstance(condition, ast.AST):
        condition = Code(cast(ast.expr, condition))
    if isinstance(condition, Code):
        if render(if_true) == render(if_false):
            return if_true
        # derivatives are floats: a branch that is a constant 0 or 1 is written 0.0, 1.0
        if_true, if_false = (float(cast(float, v)) if _is_num(v) else v
                             for v in (if_true, if_false))
        if _arrays.get():
            like = _like.get()
            if like is not None and _is_number_code(if_true) and _is_number_code(if_false) \
                    and not (_is_num(if_true) and _is_num(if_false)):
                # a number's tangent where the condition is an array: NumPy makes
                # where(c, 0.0, d_s) float64 whatever the arrays; one branch as an array of
                # ``like``'s dtype (a select of constants alone is still being built on)
                if _is_num(if_true) or not _is_num(if_false):
                    if_true = _full_like(like, if_true)
                else:
                    if_false = _full_like(like, if_false)
            return call("numpy.where", condition, if_true, if_false)
        return Code(ast.IfExp(condition.node, node_of(if_true), node_of(if_false)))
    if sympy is not None and not isinstance(condition, bool):
        return sympy.Piecewise((if_true, condition), (if_false, True))
    return if_true if condition else if_false


def _full_like(like: Code, value: Value) -> Code:
    if _is(value, 0) and math.copysign(1.0, cast(float, value)) > 0:
        return call("numpy.zeros_like", like)
    return call("numpy.full_like", like, value)


def equal(a: Any, b: Any) -> Any:
    """``a == b`` as a condition for ``select`` (``Code`` keeps Python's ``==`` for
    itself): a comparison in code, ``Eq`` in SymPy, a bool for numbers."""
    if isinstance(a, Code) or isinstance(b, Code):
        return _compare(ast.Eq(), a, b)
    sympy = _sympy.get()
    if sympy is not None and not (_is_num(a) and _is_num(b)):
        return sympy.Eq(a, b)
    return a == b


def sign(x: Any) -> Any:
    """-1, 0 or 1: the derivative of ``abs`` (0 at 0, as JAX and PyTorch choose)."""
    sympy = _sympy.get()
    if sympy is not None and not isinstance(x, Code):
        return sympy.sign(x)
    if _arrays.get() and isinstance(x, Code):
        return call("numpy.sign", x)
    return select(x > 0, 1, select(x < 0, -1, 0))


# ---------------------------------------------------------------------------
# Named functions and constants, each with its math and SymPy counterpart
# ---------------------------------------------------------------------------

def copysign(x: Any, y: Any) -> Any:
    """``|x|`` with the sign *bit* of ``y`` (so ``copysign(1, -0.0)`` is -1)."""
    sympy = _sympy.get()
    if sympy is not None and not isinstance(x, Code) and not isinstance(y, Code):
        return sympy.Abs(x) * sympy.sign(y)  # SymPy's reals have no signed zero
    if isinstance(x, Code) or isinstance(y, Code):
        # of numbers, in array code too: numpy.copysign's float64 would promote a float32
        arrays = _arrays.get() and not (_is_number_code(x) and _is_number_code(y))
        return call("numpy.copysign" if arrays else "math.copysign", x, y)
    return math.copysign(x, y)


def nearest(x: Any) -> Any:
    """The integer nearest ``x``, as a float: ``round(x, 0)`` in code of numbers,
    ``numpy.rint(x)`` of arrays (both keep a nan and an infinity). ``fmod``'s quotient
    ``(x - fmod(x, y)) / y`` is an integer computed in floats, a rounding away from the
    integer ``fmod`` used; this makes it that integer again (``trunc(x / y)`` would not
    be it where ``x / y`` rounds up to an integer: ``fmod(1.0, 0.1)`` takes 9 tenths).
    Symbolically ``floor(x + 1/2)``."""
    sympy = _sympy.get()
    if isinstance(x, Code):
        if _arrays.get() and not _is_number_code(x):
            return call("numpy.rint", x)
        return call("round", x, 0)
    if sympy is not None:
        return sympy.floor(x + sympy.Rational(1, 2))
    return round(float(x), 0)


def logistic(x: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-x))`` (the derivative of ``log(1 + exp(x))``).
    In code of numbers ``0.5 + 0.5 * tanh(x / 2)``: one call, no overflow. Of an array,
    where the code can call ``srcdiff.runtime``'s helpers, ``expit(x)``: NumPy's ``tanh``
    of float64 costs two to three times its ``exp`` (not vectorised on every machine),
    and the helper's ``exp`` overflowing to inf gives the right limit, 0."""
    sympy = _sympy.get()
    if sympy is not None and not isinstance(x, Code):
        return 1 / (1 + sympy.exp(-x))
    helpers = _helpers.get()
    if isinstance(x, Code) and _arrays.get() and helpers is not None \
            and not _is_number_code(x):
        return Code(ast.Call(helpers("expit").node, [x.node], []))
    return 0.5 + 0.5 * tanh(x / 2)


class Function:
    """A function usable in rules: ``math.<name>`` in code, ``sympy.<sympy_name>`` symbolically
    (or ``symbolic(sympy, *args)``, for a function SymPy has no name for)."""

    def __init__(self, name: str, sympy_name: str | None = None, numpy_name: str | None = None,
                 symbolic: Callable[..., Any] | None = None) -> None:
        self.name = name
        self.sympy_name = sympy_name or name
        self.numpy_name = name if numpy_name is None else numpy_name
        self.math = getattr(math, name)
        self.symbolic = symbolic

    def __call__(self, *args: Any) -> Any:
        args = tuple(a.value() if isinstance(a, ModeConstant) else a for a in args)
        sympy = _sympy.get()
        if any(isinstance(a, Code) for a in args):
            if _arrays.get():
                if not self.numpy_name:
                    raise ValueError(f"{self.name} has no NumPy counterpart for array operands")
                return call("numpy." + self.numpy_name, *args)
            return call("math." + self.name, *args)
        if sympy is not None:
            if self.symbolic is not None:
                return self.symbolic(sympy, *args)
            return getattr(sympy, self.sympy_name)(*args)
        folded = _fold(self.math, *args)
        if folded is None:  # log(0.0): left to run time (IEEE there: -inf, nan)
            return call(("numpy." + self.numpy_name) if _arrays.get() and self.numpy_name
                        else "math." + self.name, *args)
        return folded

    def __repr__(self) -> str:
        return self.name


class Special:
    """A function of ``scipy.special`` usable in rules (``digamma``, the derivative of
    ``gammaln``), which has no ``math`` or NumPy counterpart: in generated code a call of
    ``srcdiff.runtime``'s helper of that name, which imports SciPy itself (so generated
    modules copy it as they copy the others); in SymPy ``symbolic(sympy, x)``; with
    numbers, the helper's value. Where no helpers are at hand (a formula printed for
    ``srcdiff rules``), the call of SciPy's function is written (``written(x)``)."""

    def __init__(self, name: str, symbolic: Callable[[Any, Any], Any],
                 written: Callable[[Code], Code]) -> None:
        self.name = name
        self.symbolic = symbolic
        self.written = written  # the call of SciPy's function, for formulas

    def __call__(self, x: Any) -> Any:
        if isinstance(x, Code):
            helpers = _helpers.get()
            if helpers is None:
                return self.written(x)
            return Code(ast.Call(helpers(self.name).node, [x.node], []))
        sympy = _sympy.get()
        if sympy is not None:
            return self.symbolic(sympy, x)
        from . import runtime
        return float(getattr(runtime, self.name)(x))  # a number folds into the code

    def __repr__(self) -> str:
        return self.name


class ModeConstant:
    """A named constant (pi): a float in code and numbers, exact in SymPy."""

    def __init__(self, name: str) -> None:
        self.name = name

    def value(self) -> Any:
        sympy = _sympy.get()
        return getattr(sympy, self.name) if sympy is not None else getattr(math, self.name)

    def __float__(self) -> float:
        return float(getattr(math, self.name))

    def _sympy_(self) -> Any:  # sympify() asks this before falling back to __float__
        return self.value()

    __add__ = lambda s, o: s.value() + o
    __radd__ = lambda s, o: o + s.value()
    __sub__ = lambda s, o: s.value() - o
    __rsub__ = lambda s, o: o - s.value()
    __mul__ = lambda s, o: s.value() * o
    __rmul__ = lambda s, o: o * s.value()
    __truediv__ = lambda s, o: s.value() / o
    __rtruediv__ = lambda s, o: o / s.value()
    __pow__ = lambda s, o: s.value() ** o
    __rpow__ = lambda s, o: o ** s.value()
    __neg__ = lambda s: -s.value()


sin, cos, tan = Function("sin"), Function("cos"), Function("tan")
asin = Function("asin", numpy_name="arcsin")
acos = Function("acos", numpy_name="arccos")
atan = Function("atan", numpy_name="arctan")
atan2 = Function("atan2", numpy_name="arctan2")
sinh, cosh, tanh = Function("sinh"), Function("cosh"), Function("tanh")
asinh = Function("asinh", numpy_name="arcsinh")
acosh = Function("acosh", numpy_name="arccosh")
atanh = Function("atanh", numpy_name="arctanh")
exp, log, sqrt, cbrt = Function("exp"), Function("log"), Function("sqrt"), Function("cbrt")
erf, erfc = Function("erf", numpy_name=""), Function("erfc", numpy_name="")  # not in NumPy
log1p = Function("log1p", symbolic=lambda sympy, x: sympy.log(1 + x))
loggamma = Function("lgamma", sympy_name="loggamma", numpy_name="")  # log |gamma(x)|
pi = ModeConstant("pi")
# scipy.special's digamma (the derivative of gammaln) and trigamma (digamma's): the
# runtime helpers of those names call SciPy
digamma = Special("digamma", lambda sympy, x: sympy.polygamma(0, x),
                  lambda x: call("scipy.special.digamma", x))
trigamma = Special("trigamma", lambda sympy, x: sympy.polygamma(1, x),
                   lambda x: call("scipy.special.polygamma", 1, x))
