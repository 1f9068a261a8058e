"""Derivative rules of NumPy (and SciPy) functions.

Loaded by ``srcdiff.rules`` only when NumPy can be imported. Two kinds of entries:

* **Elementwise functions** (``numpy.sin``, ``numpy.maximum``, ``numpy.where``...) go in
  the same table as ``math``'s: a ufunc that is a primitive the table has (``numpy.sin``
  is ``math.sin``) shares its rule, the others are written in the same rule language, and
  ``srcdiff.verify`` proves them with SymPy the same way. For array operands the generator evaluates the
  rule in *array mode* (``numpy.cos``, ``numpy.where``) and sums the adjoint of an operand
  that was broadcast back to the operand's shape.
* **Array functions** (reductions, products, shape functions, linear algebra) have an
  :class:`ArrayRule`: a vector-Jacobian product written once as code, given the adjoint
  ``g`` of the result. Each carries ``examples``, argument shapes the test suite uses to
  check the rule against central differences, so a new rule is covered by the tests
  without writing a new test.

>>> import numpy
>>> rule = RULES.lookup(numpy.sum, 1)
>>> rule.name, rule.wrt
('numpy.sum', ('a', 'initial'))
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn, TypeVar, cast

import numpy

from . import runtime
from .expr import (Code, add, attribute, call, cos, digamma, div, equal, exp, item, log, log1p,
                   loggamma, logistic, mul, neg, pi, select, sin, trigamma, Value)
from .kinds import ANY_ARRAY, SCALAR, Kind, array, broadcast
from .ir import Function
from .rules import ABOVE_MINUS_ONE, NONZERO, POSITIVE, REAL, RULES, TOTAL, Domain

# What a ``vjp`` gives: each differentiable parameter's (or ``(sequence, position)``'s)
# adjoint contribution, as code
Contributions = dict[str | tuple[str, Any], Value]
_V = TypeVar("_V", bound="VJP")
_R = TypeVar("_R")


class RuleUseError(Exception):
    """An array rule cannot be applied as written (a non-constant ``axis``...); the
    generator turns it into a located error."""


@dataclass(frozen=True)
class Example:
    """Arguments for the generated numerical check of an :class:`ArrayRule`: a shape per
    differentiable argument (``()`` is a float), literal values for the others."""

    shapes: tuple[Any, ...]
    keywords: dict[str, Any] = field(default_factory=dict)
    literals: tuple[Any, ...] = ()  # positional arguments after the arrays, written as constants
    positive: bool = False  # sample in [0.5, 2] instead of [-2, 2]
    matrix: bool = False  # add n * identity to square matrices (well conditioned)
    spd: bool = False  # a square matrix x x^T + n * identity (symmetric positive definite)
    named: tuple[str, ...] = ()  # the last shapes' arguments, passed by these keywords
    # constants put among the positional arguments, at these positions (numpy.interp's
    # sample points, between x and fp)
    inserted: tuple[tuple[int, Any], ...] = ()


class _Written:
    """A constant an example writes as source, where its repr would not do: ``numpy.inf``
    (whose repr, ``inf``, names nothing)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class ArrayRule:
    """The vector-Jacobian product of one NumPy function.

    ``params`` are its parameters in positional order (``required`` of them must be
    given); ``wrt`` names the differentiable ones; ``vjp(v)`` returns a dict from each
    differentiable parameter to its adjoint contribution, as code built from ``v``
    (a :class:`VJP`). ``kind(v)`` gives the kind of the result. ``sequence`` names a
    parameter that takes a list of arrays (``concatenate``); its contributions are keyed
    ``(name, position)``. ``shaped`` is False when ``vjp`` accepts an adjoint that is a
    plain zero instead of an array of the result's shape (a reduction to a number, a
    copy); True (the default) makes the generator give the adjoint its shape first
    wherever it may still be the zero it was initialised with.
    """

    func: Callable[..., Any]
    name: str
    params: tuple[str, ...]
    required: int
    wrt: tuple[str, ...]
    vjp: Callable[[VJP], Contributions]
    kind: Callable[[VJP], Kind]
    examples: tuple[Example, ...] = ()
    sequence: str | None = None
    shaped: bool = True
    variadic: bool = False  # einsum: params[-1] collects the remaining arguments
    # forward mode (``srcdiff.tangent``): "linear" (the function of the differentiable
    # arguments' tangents together), "multilinear" (a sum over them, each in turn), a
    # function of a :class:`JVP` giving the tangent as code, or None (not supported yet)
    jvp: str | Callable[[JVP], Value] | None = None

    builtin = True
    primal = None

    @property
    def arity(self) -> int:
        return len(self.params)

    def formula(self) -> str:
        return "vector-Jacobian product (array rule)"


class VJP:
    """What an array rule's ``vjp`` and ``kind`` see: the adjoint ``g`` and result
    ``out`` as code, each argument as code (``v["axis"]``), its kind (``v.kind("a")``)
    and, for constants, its value (``v.const("axis")``)."""

    def __init__(self, rule: ArrayRule, arguments: dict[str, ast.expr], kinds: dict[str, Kind],
                 g: Any = None, out: Any = None,
                 helper: Callable[[str], Code] | None = None,
                 active: Iterable[str] = ()) -> None:
        self.rule = rule
        self.arguments = arguments  # name -> ast.expr (absent: not given)
        self.kinds = kinds  # name -> Kind
        self.g = g
        self.out = out
        self._helper = helper
        self.active = frozenset(active)  # the variables derivatives flow through

    def __getitem__(self, name: str) -> Any:  # Code, or the List or Tuple node of a sequence
        node = self.arguments[name]
        if isinstance(node, (ast.List, ast.Tuple)):
            return node
        return Code(node)

    def given(self, name: str) -> bool:
        return name in self.arguments

    def kind(self, name: str) -> Kind:
        return self.kinds.get(name, SCALAR)

    def ndim(self, name: str) -> int | None:
        kind = self.kind(name)
        return kind.ndim if kind.is_array else 0

    def differentiated(self, name: str) -> bool:
        """Whether the argument ``name`` is (or holds) a variable derivatives flow through."""
        return name in self.arguments and any(
            isinstance(n, ast.Name) and n.id in self.active for n in ast.walk(self.arguments[name]))

    def const(self, name: str, default: Any = None) -> Any:
        if name not in self.arguments:
            return default
        try:
            return ast.literal_eval(self.arguments[name])
        except ValueError:
            raise RuleUseError(f"`{name}` of {self.rule.name} must be written as a constant "
                               f"(it is `{ast.unparse(self.arguments[name])}`)") from None

    def helper(self, name: str, *args: Any) -> Code:
        helper = cast(Callable[[str], Code], self._helper)  # given where rules emit code
        return Code(ast.Call(helper(name).node, [_node(a) for a in args], []))

    def expand(self, value: Value, axis_name: str = "axis", keepdims_name: str = "keepdims") -> Value:
        """A reduction's adjoint with the reduced axes put back (for broadcasting)."""
        axis = self.const(axis_name)
        if axis is None or self.const(keepdims_name, False):
            return value
        return call("numpy.expand_dims", value, axis)


class JVP(VJP):
    """What an array rule's forward (``jvp``) function sees: like :class:`VJP`, with
    ``t(name)``, the tangent of an argument as code (a zero of its shape when it has none)
    and ``reduce(value)``, ``numpy.sum`` over the axes the call reduces, as it keeps them."""

    def __init__(self, rule: ArrayRule, arguments: dict[str, ast.expr], kinds: dict[str, Kind],
                 tangents: dict[str, Value], out: Any, helper: Callable[[str], Code] | None = None,
                 active: Iterable[str] = ()) -> None:
        super().__init__(rule, arguments, kinds, None, out, helper, active)
        self.tangents = tangents  # name -> Code (a tangent, or a zero)

    def t(self, name: str) -> Value:
        return self.tangents[name]

    def reduce(self, value: Value, axis_name: str = "axis", keepdims_name: str = "keepdims") -> Code:
        axis, keep = self.const(axis_name), self.const(keepdims_name, False)
        keywords = {}
        if axis is not None:
            keywords["axis"] = axis
        if keep:
            keywords["keepdims"] = True
        return call("numpy.sum", value, **keywords)


def _node(value: Any) -> ast.expr:
    from .expr import node_of
    return node_of(value)


def shape(value: Value) -> Code:
    return call("numpy.shape", value)


def transposed(value: Value) -> Code:
    return attribute(value, "T")


# --------------------------------------------------------------------------------------
# Kinds of results
# --------------------------------------------------------------------------------------

def _rank(n: int | None) -> Kind:
    if n is None:
        return ANY_ARRAY
    return array(n) if n > 0 else SCALAR


def reduction_kind(v: VJP, name: str = "a") -> Kind:
    axis, keep = v.const("axis"), v.const("keepdims", False)
    ndim = v.ndim(name)
    if axis is None:
        return _rank(ndim) if keep else SCALAR
    if keep or ndim is None:
        return _rank(ndim)
    removed = len(axis) if isinstance(axis, tuple) else 1
    return _rank(ndim - removed)


def same_kind(v: VJP) -> Kind:
    return v.kind(v.rule.params[0])


def shape_kind(value: object) -> Kind:
    if isinstance(value, int):
        return array(1)
    if isinstance(value, tuple):
        return _rank(len(value))
    return ANY_ARRAY


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------

def add_array_rule(func: Callable[..., Any], params: Sequence[str], wrt: Iterable[str],
                   vjp: Callable[[VJP], Contributions], kind: Callable[[VJP], Kind],
                   examples: Iterable[Example] = (), *, required: int = 1, name: str | None = None,
                   sequence: str | None = None, shaped: bool = True, variadic: bool = False,
                   jvp: str | Callable[[JVP], Value] | None = None) -> ArrayRule:
    from .rules import qualified_name
    rule = ArrayRule(func, name or qualified_name(func), tuple(params), required, tuple(wrt),
                     vjp, kind, tuple(examples), sequence, shaped, variadic, jvp)
    for count in range(required, len(params) + 1):
        RULES.rules[(func, count)] = rule
    if variadic:
        RULES.variadic[func] = rule
    return rule


E = Example
_ = RULES.add

# --- elementwise: the scalar table's rules, for ufuncs ------------------------------------
# The ufuncs that are a primitive the table already has: the same rule, not a copy.
_SAME_AS: list[tuple[Any, Callable[..., Any], int]] = [
    (numpy.add, operator.add, 2), (numpy.subtract, operator.sub, 2),
    (numpy.multiply, operator.mul, 2), (numpy.divide, operator.truediv, 2),
    (numpy.power, operator.pow, 2), (numpy.negative, operator.neg, 1),
    (numpy.positive, operator.pos, 1), (numpy.absolute, abs, 1), (numpy.fabs, math.fabs, 1),
    (numpy.sqrt, math.sqrt, 1), (numpy.cbrt, math.cbrt, 1), (numpy.exp, math.exp, 1),
    (numpy.exp2, math.exp2, 1), (numpy.expm1, math.expm1, 1), (numpy.log, math.log, 1),
    (numpy.log2, math.log2, 1), (numpy.log10, math.log10, 1), (numpy.log1p, math.log1p, 1),
    (numpy.sin, math.sin, 1), (numpy.cos, math.cos, 1), (numpy.tan, math.tan, 1),
    (numpy.arcsin, math.asin, 1), (numpy.arccos, math.acos, 1), (numpy.arctan, math.atan, 1),
    (numpy.arctan2, math.atan2, 2), (numpy.hypot, math.hypot, 2), (numpy.sinh, math.sinh, 1),
    (numpy.cosh, math.cosh, 1), (numpy.tanh, math.tanh, 1), (numpy.arcsinh, math.asinh, 1),
    (numpy.arccosh, math.acosh, 1), (numpy.arctanh, math.atanh, 1),
    (numpy.deg2rad, math.radians, 1), (numpy.rad2deg, math.degrees, 1),
    (numpy.radians, math.radians, 1), (numpy.degrees, math.degrees, 1),
    (numpy.remainder, operator.mod, 2),  # numpy.mod too: Python's %, the divisor's sign
    (numpy.fmod, math.fmod, 2),  # C's fmod: the dividend's sign
    (numpy.float_power, operator.pow, 2),  # ** computed in float64 (the partials: **'s)
    (numpy.copysign, math.copysign, 2),
    # a cast of a number or an array (a float64 array itself, not a copy): float's rule
    (numpy.float64, float, 1),
    # ties go to the first argument, as for max and min
    (numpy.maximum, max, 2), (numpy.minimum, min, 2), (numpy.fmax, max, 2), (numpy.fmin, min, 2),
]
_func: Any  # NumPy's functions and ufuncs in turn, in the loops that register them
for _func, _same, _arity in _SAME_AS:
    RULES.alias(_func, _same, _arity, name=f"numpy.{_func.__name__}")
_(numpy.reciprocal, lambda x: 1 / x, lambda x, out: -out ** 2, (NONZERO,), name="numpy.reciprocal")
_(numpy.square, lambda x: x ** 2, lambda x: 2 * x, name="numpy.square")
# sinc(x) = sin(pi x) / (pi x), 1 at 0, where its slope is 0 (an even function): proved
# by SymPy away from 0; at 0 the denominator is 1, so that no branch divides by zero.
_(numpy.sinc, lambda x: sin(pi * x) / (pi * x), lambda x, out: (cos(pi * x) - out) / select(equal(x, 0), 1, x), (NONZERO,), name="numpy.sinc")
# clip(a, lo, hi) is minimum(maximum(a, lo), hi).
_(numpy.clip, lambda a, lo, hi: select(a < lo, lo, select(a > hi, hi, a)),
  lambda a, lo, hi: (select(a < lo, 0, select(a > hi, 0, 1)), select(a < lo, 1, 0), select(a < lo, 0, select(a > hi, 1, 0))),
  (REAL, Domain(-1.0, -0.5), Domain(0.5, 1.0)), name="numpy.clip")
# The partials are logistic functions (``expr.logistic``: of arrays ``runtime.expit``,
# of numbers written with tanh).
_(numpy.logaddexp, lambda a, b: log(exp(a) + exp(b)), lambda a, b: (logistic(a - b), logistic(b - a)), name="numpy.logaddexp")
# the logistic function itself, as the code of those partials calls it: code generated
# from them (a Jacobian-vector product) is differentiated again for second derivatives
_(runtime.expit, lambda x: 1 / (1 + exp(-x)), lambda x, out: out * (1 - out), name="srcdiff.runtime.expit")
_(numpy.logaddexp2, lambda a, b: log(2 ** a + 2 ** b) / log(2), lambda a, b, out: (2 ** (a - out), 2 ** (b - out)), name="numpy.logaddexp2")
# where(condition, x, y): the condition carries no derivative (no SymPy form: checked numerically).
_(numpy.where, None, lambda c, x, y: (0, select(c, 1, 0), select(c, 0, 1)), (Domain(0.5, 1.0), REAL, REAL), name="numpy.where")
del _

TOTAL.update({numpy.add, numpy.subtract, numpy.multiply, numpy.negative, numpy.positive,
              numpy.square, numpy.absolute, numpy.fabs, numpy.sin, numpy.cos, numpy.arctan,
              numpy.tanh, numpy.maximum, numpy.minimum, numpy.clip, numpy.where, runtime.expit})

# Results that carry no derivative: piecewise constant, integer-valued, or constants.
RULES.nondifferentiable.update({
    numpy.sign, numpy.floor, numpy.ceil, numpy.round, numpy.rint, numpy.trunc, numpy.fix,
    numpy.isnan, numpy.isinf, numpy.isfinite, numpy.isclose, numpy.allclose,
    numpy.argmax, numpy.argmin, numpy.argsort, numpy.nonzero, numpy.shape, numpy.ndim,
    numpy.size, numpy.zeros, numpy.ones, numpy.empty, numpy.full, numpy.eye, numpy.identity,
    numpy.arange, numpy.linspace, numpy.zeros_like, numpy.ones_like, numpy.empty_like,
    numpy.full_like, numpy.greater, numpy.greater_equal, numpy.less, numpy.less_equal,
    numpy.equal, numpy.not_equal, numpy.logical_and, numpy.logical_or, numpy.logical_not,
    numpy.floor_divide, numpy.heaviside, numpy.any, numpy.all, numpy.count_nonzero,
})


def _creation_kind(v: VJP) -> Kind:
    return shape_kind(v.const("shape", None)) if v.given("shape") else ANY_ARRAY


# The kinds of non-differentiable results that are not elementwise.
NONDIFFERENTIABLE_KINDS = {
    numpy.shape: lambda kinds: SCALAR, numpy.ndim: lambda kinds: SCALAR,
    numpy.size: lambda kinds: SCALAR, numpy.eye: lambda kinds: array(2),
    numpy.identity: lambda kinds: array(2), numpy.arange: lambda kinds: array(1),
    numpy.linspace: lambda kinds: array(1), numpy.nonzero: lambda kinds: SCALAR,
    numpy.zeros: None, numpy.ones: None, numpy.empty: None, numpy.full: None,
    numpy.argmax: lambda kinds: ANY_ARRAY if kinds[1:] else SCALAR,
    numpy.argmin: lambda kinds: ANY_ARRAY if kinds[1:] else SCALAR,
    numpy.argsort: lambda kinds: kinds[0], numpy.any: lambda kinds: SCALAR,
    numpy.all: lambda kinds: SCALAR, numpy.allclose: lambda kinds: SCALAR,
    numpy.count_nonzero: lambda kinds: SCALAR,
}


def integer_cast(a: Any, dtype: Any = None) -> Any:
    """What ``numpy.array(a, dtype=int)``, ``numpy.asarray(a, dtype=bool)`` and
    ``a.astype(int)`` stand for in the rule table (normalize marks such calls with it; the
    code still calls NumPy): a cast to integers or booleans, piecewise constant, so no
    derivative flows through it (differentiating it as the identity would be wrong)."""
    return numpy.array(a, dtype=dtype)


RULES.nondifferentiable.add(integer_cast)
NONDIFFERENTIABLE_KINDS[integer_cast] = lambda kinds: kinds[0] if kinds and kinds[0] else ANY_ARRAY
# a list grown while the function runs starts empty: its kind is its elements' (analyse
# joins the kinds of what a variable is assigned; None adds nothing)
RULES.nondifferentiable.add(runtime.empty_list)
NONDIFFERENTIABLE_KINDS[runtime.empty_list] = lambda kinds: None


# --- reductions --------------------------------------------------------------------------
REDUCE = ("a", "axis", "dtype", "out", "keepdims")
# NumPy's own orders: sum, prod and nansum take initial= and where= after keepdims, mean
# takes where= (keyword-only), max and min have no dtype=
_SUM_PARAMS = REDUCE + ("initial", "where")
_MEAN_PARAMS = REDUCE + ("where",)
_EXTREMUM_PARAMS = ("a", "axis", "out", "keepdims", "initial", "where")
_REDUCE_EXAMPLES = (E(((3, 4),)), E(((3, 4),), {"axis": 0}), E(((2, 3, 4),), {"axis": (0, 2)}),
                    E(((3, 4),), {"axis": -1, "keepdims": True}), E(((5,),)))
# where= masks (written as lists: they broadcast against the (3, 4) or (2, 3, 4) input),
# rows with no element selected among them, and initial= as a constant
_MASK = [[True, False, True, True], [False, False, False, False], [True, True, False, True]]
_ROW_MASK = [True, False, True, True]  # broadcast along the first axis
_COLUMN_MASK = [[True], [False], [True]]
_MASKED_EXAMPLES = (E(((3, 4),), {"where": _MASK}), E(((3, 4),), {"axis": 0, "where": _ROW_MASK}),
                    E(((3, 4),), {"axis": 1, "keepdims": True, "where": _COLUMN_MASK}),
                    E(((2, 3, 4),), {"axis": (0, 2), "where": _ROW_MASK}))
# a row of _MASK and of _COLUMN_MASK selects nothing, whose mean is nan (tested on its
# own): these select something in every row
_MEAN_MASKED_EXAMPLES = (E(((3, 4),), {"where": _MASK}),
                         E(((3, 4),), {"axis": 1, "where": _ROW_MASK}),
                         E(((3, 4),), {"axis": 0, "where": [[True], [False], [True]]}),
                         E(((2, 3, 4),), {"axis": (0, 2), "keepdims": True, "where": _ROW_MASK}))
_INITIAL_EXAMPLES = (E(((3, 4),), {"initial": 1.5}), E(((3, 4),), {"axis": 0, "initial": -0.5}),
                     E(((3, 4),), {"axis": 1, "where": _MASK, "initial": 0.25}),
                     # initial= differentiated too (passed by keyword)
                     E(((3, 4), ()), {"axis": 1, "where": _MASK}, named=("initial",)),
                     E(((3, 4), ()), {"where": _ROW_MASK}, named=("initial",)),
                     E(((2, 3, 4), ()), {"axis": (0, 2), "keepdims": True}, named=("initial",)))
# max and min with where= need initial=; for the examples with a random initial (in
# [-2, 2]), some rows' extremum is initial itself
_EXTREMUM_EXAMPLES = (E(((3, 4),), {"initial": 0.0}), E(((3, 4),), {"axis": 0, "initial": 0.5}),
                      E(((3, 4),), {"axis": 1, "where": _MASK, "initial": -1.0}),
                      E(((2, 3, 4),), {"axis": (0, 2), "where": _ROW_MASK, "initial": -3.0}),
                      E(((3, 4), ()), {"axis": 1, "where": _MASK}, named=("initial",)),
                      E(((3, 4), ()), {"axis": 0, "keepdims": True, "where": _COLUMN_MASK},
                        named=("initial",)),
                      E(((3, 4), ()), {}, named=("initial",)))


def _no_out(v: VJP, supported: tuple[str, ...] = ()) -> None:
    """Refuses the options a reduction's rule does not handle (``supported``: those it
    does), unless written as None."""
    for name in ("out", "dtype", "where", "initial"):
        if name not in supported and v.given(name) and not _is_constant(v, name, None):
            raise RuleUseError(f"`{name}=` of {v.rule.name} is not supported")


def _is_constant(v: VJP, name: str, value: Any) -> bool:
    node = v.arguments[name]
    return isinstance(node, ast.Constant) and node.value is value


def _mask(v: VJP) -> Code | None:
    """``where=`` broadcast to the input's shape (None: every element counts), by
    ``runtime.broadcast_like``, whose kind is the input's: code differentiated again
    (forward code of ``min`` with ``where=``) knows its rank, as it would not for
    ``numpy.broadcast_to(where, numpy.shape(a))``."""
    if not v.given("where") or _is_constant(v, "where", True):
        return None
    return v.helper("broadcast_like", v["where"], v["a"])


def _initial(v: VJP) -> Code | None:
    """``initial=`` (None when not given)."""
    if not v.given("initial") or _is_constant(v, "initial", None):
        return None
    if v.kind("initial").is_array:
        raise RuleUseError(f"`initial=` of {v.rule.name} must be a number")
    return Code(v.arguments["initial"])


def _masked(v: VJP, value: Value) -> Value:
    """An adjoint of the input's shape, zero where ``where=`` leaves elements out."""
    mask = _mask(v)
    return value if mask is None else call("numpy.where", mask, value, 0)


def _to_initial(v: VJP, value: Value) -> Value:
    """The adjoint of a number added to (or compared with) every element of the result."""
    return value if reduction_kind(v) == SCALAR else call("numpy.sum", value)


def _reduce_options(v: VJP) -> dict[str, Any]:
    """axis= and keepdims= as the call gives them, for computing the same reduction."""
    options: dict[str, Any] = {}
    if v.const("axis") is not None:
        options["axis"] = v.const("axis")
    if v.const("keepdims", False):
        options["keepdims"] = True
    return options


def _sum(v: VJP) -> Contributions:
    _no_out(v, ("where", "initial"))  # initial= is added to every element of the result
    if v.const("axis") is None:  # one pass, and the input's dtype
        adjoint: Contributions = {"a": _masked(v, call("numpy.full_like", v["a"], v.g))}
    else:
        adjoint = {"a": _masked(v, call("numpy.broadcast_to", v.expand(v.g), shape(v["a"])))}
    if _initial(v) is not None:
        adjoint["initial"] = _to_initial(v, v.g)
    return adjoint


def _mean(v: VJP) -> Contributions:
    """With ``where=``, the mean of the selected elements: divided by their count along
    the reduced axes. A row selecting nothing has mean nan (NumPy warns) and no element
    reaching it, so its elements' adjoint is zero (the count is taken as 1 there)."""
    _no_out(v, ("where",))
    mask = _mask(v)
    if mask is None and v.const("axis") is None:
        return {"a": call("numpy.full_like", v["a"], div(v.g, call("numpy.size", v["a"])))}
    if mask is None:
        count: Value = div(call("numpy.size", v["a"]), call("numpy.size", v.out))
        return {"a": call("numpy.broadcast_to", div(v.expand(v.g), count), shape(v["a"]))}
    keep = {"axis": v.const("axis"), "keepdims": True} if v.const("axis") is not None else {}
    count = call("numpy.maximum", call("numpy.sum", mask, **keep, **_dtype_of(v, "a")), 1)
    if v.const("axis") is None:
        return {"a": _masked(v, call("numpy.full_like", v["a"], div(v.g, count)))}
    return {"a": _masked(v, call("numpy.broadcast_to", div(v.expand(v.g), count), shape(v["a"])))}


def _prod(v: VJP) -> Contributions:
    # the product over the others: out / a (the input must have no zeros); initial= is a
    # factor of every element of the result, its adjoint the product of the selected ones
    _no_out(v, ("where", "initial"))
    adjoint: Contributions = {"a": _masked(v, div(mul(v.expand(v.g), v.expand(v.out)), v["a"]))}
    if _initial(v) is not None:
        where = {"where": v["where"]} if _mask(v) is not None else {}
        product = call("numpy.prod", v["a"], **_reduce_options(v), **where)
        adjoint["initial"] = _to_initial(v, mul(v.g, product))
    return adjoint


def _dtype_of(v: VJP, name: str) -> dict[str, Code]:
    """``dtype=a.dtype`` for the array argument ``name`` (none for a number), for counts
    and constants the adjoint is made of: NumPy's own default, float64, would promote
    float32 adjoints. Vector-Jacobian code only: forward code is differentiated again,
    and srcdiff's language has no ``.dtype``."""
    return {"dtype": attribute(v[name], "dtype")} if v.kind(name).is_array else {}


def _chosen(v: VJP) -> tuple[Code, bool]:
    """The elements equal to an extremum's result (among those ``where=`` selects), and
    whether ``initial=`` takes its share of the ties too: when it is a differentiated
    value (a constant initial= takes none; when it is the result, no element is chosen)."""
    chosen = Code(ast.Compare(v["a"].node, [ast.Eq()], [_node(v.expand(v.out))]))
    mask = _mask(v)
    if mask is not None:
        chosen = call("numpy.logical_and", chosen, mask)
    return chosen, _initial(v) is not None and v.differentiated("initial")


def _is_result(v: VJP, out: Value) -> Code:
    """Whether ``initial=`` is the extremum's result ``out``: compared in the result's
    dtype, as NumPy compared it (a float64 initial= of a float32 array is rounded to
    float32 first: compared unrounded, it is never the result; arrays seed 505). Forward
    code has no ``.dtype`` (srcdiff's language has none, and hvp differentiates it again):
    there the same reduction over no element gives initial= rounded as NumPy rounds it."""
    initial: Value = cast(Code, _initial(v))
    if not isinstance(v, JVP):
        initial = call("numpy.asarray", initial, dtype=attribute(out, "dtype"))
    else:  # the same reduction over no element: initial=, as NumPy rounds it
        initial = call(v.rule.name, v["a"], initial=initial, where=False, **_reduce_options(v))
    return Code(ast.Compare(_node(initial), [ast.Eq()], [_node(out)]))


def _extremum(v: VJP) -> Contributions:
    _no_out(v, ("where", "initial"))  # ties share the adjoint equally, as in JAX and PyTorch
    chosen, initial_shares = _chosen(v)
    axis = v.const("axis")
    # ties counted in a's dtype: a mask divided by an integer count is float64
    ties: Value = call("numpy.sum", chosen, axis=axis, keepdims=True, **_dtype_of(v, "a")) \
        if axis is not None else call("numpy.sum", chosen, **_dtype_of(v, "a"))
    if initial_shares:
        ties = add(ties, _is_result(v, v.expand(v.out)))
    if _initial(v) is not None:
        ties = call("numpy.maximum", ties, 1)
    adjoint: Contributions = {"a": mul(v.expand(v.g), div(chosen, ties))}
    if initial_shares:
        adjoint["initial"] = call("numpy.sum", mul(v.expand(v.g),
                                                   div(_is_result(v, v.expand(v.out)), ties)))
    return adjoint


def _centred(v: VJP) -> tuple[Code, Value]:
    axis = v.const("axis")
    count = call("numpy.size", v["a"]) if axis is None else \
        div(call("numpy.size", v["a"]), call("numpy.size", v.out))
    ddof = v.const("ddof", 0)
    centred = v.helper("centred", v["a"]) if axis is None else \
        v.helper("centred_along", v["a"], axis)
    return centred, (count - ddof if ddof else count)


def _var(v: VJP) -> Contributions:
    _no_out(v)
    centred, count = _centred(v)
    return {"a": mul(v.expand(v.g), div(mul(2, centred), count))}


def _std(v: VJP) -> Contributions:
    _no_out(v)
    centred, count = _centred(v)
    return {"a": mul(v.expand(div(v.g, v.out)), div(centred, count))}


add_array_rule(numpy.sum, _SUM_PARAMS, ("a", "initial"), _sum, reduction_kind,
               _REDUCE_EXAMPLES + _MASKED_EXAMPLES + _INITIAL_EXAMPLES, name="numpy.sum")
add_array_rule(numpy.mean, _MEAN_PARAMS, ("a",), _mean, reduction_kind,
               _REDUCE_EXAMPLES + _MEAN_MASKED_EXAMPLES, name="numpy.mean")
add_array_rule(numpy.prod, _SUM_PARAMS, ("a", "initial"), _prod, reduction_kind,
               tuple(E(e.shapes, e.keywords, named=e.named, positive=True)
                     for e in _REDUCE_EXAMPLES + _MASKED_EXAMPLES + _INITIAL_EXAMPLES),
               name="numpy.prod")
for _func in (numpy.max, numpy.min, numpy.amax, numpy.amin):
    add_array_rule(_func, _EXTREMUM_PARAMS, ("a", "initial"), _extremum, reduction_kind,
                   _REDUCE_EXAMPLES + _EXTREMUM_EXAMPLES, name=f"numpy.{_func.__name__}")
for _func, _vjp in ((numpy.var, _var), (numpy.std, _std)):
    add_array_rule(_func, ("a", "axis", "dtype", "out", "ddof", "keepdims"), ("a",), _vjp,
                   reduction_kind, _REDUCE_EXAMPLES + (E(((4, 3),), {"axis": 0, "ddof": 1}),),
                   name=f"numpy.{_func.__name__}")


def _cumsum(v: VJP) -> Contributions:
    _no_out(v)
    axis = v.const("axis")
    if axis is None:
        flipped = call("numpy.cumsum", item(v.g, ast.Slice(None, None, ast.Constant(-1))))
        return {"a": call("numpy.reshape", item(flipped, ast.Slice(None, None, ast.Constant(-1))),
                          shape(v["a"]))}
    return {"a": call("numpy.flip", call("numpy.cumsum", call("numpy.flip", v.g, axis), axis), axis)}


add_array_rule(numpy.cumsum, ("a", "axis", "dtype", "out"), ("a",), _cumsum,
               lambda v: array(1) if v.const("axis") is None else same_kind(v),
               (E(((5,),)), E(((3, 4),)), E(((3, 4),), {"axis": 1})), name="numpy.cumsum")


# --- products ----------------------------------------------------------------------------
def _product_rank(v: VJP) -> tuple[int | None, int | None]:
    return v.ndim("a"), v.ndim("b")


def _dot(v: VJP) -> Contributions:
    ra, rb = _product_rank(v)
    a, b, g = v["a"], v["b"], v.g
    if ra == 0 or rb == 0:  # a product with a number
        return {"a": _sum_to(mul(g, b), ra, rb), "b": _sum_to(mul(g, a), rb, ra)}
    if (ra, rb) == (1, 1):
        return {"a": mul(g, b), "b": mul(g, a)}
    if (ra, rb) == (2, 2):
        return {"a": _matmul(g, transposed(b)), "b": _matmul(transposed(a), g)}
    if (ra, rb) == (2, 1):
        return {"a": call("numpy.outer", g, b), "b": _matmul(transposed(a), g)}
    if (ra, rb) == (1, 2):
        return {"a": _matmul(b, g), "b": call("numpy.outer", a, g)}
    raise RuleUseError(f"{v.rule.name} of arrays of rank {_rank_text(ra)} and "
                       f"{_rank_text(rb)} is not supported (use numpy.matmul or numpy.einsum)")


def _rank_text(rank: int | None) -> str:
    return "unknown" if rank is None else str(rank)


def _sum_to(value: Value, rank: int | None, other_rank: int | None) -> Value:
    """The adjoint of a number multiplied into an array: summed."""
    if rank == 0 and other_rank != 0:
        return call("numpy.sum", value)
    return value


def _matmul(a: Value, b: Value) -> Code:
    return Code(ast.BinOp(_node(a), ast.MatMult(), _node(b)))


def _matmul_vjp(v: VJP) -> Contributions:
    ra, rb = _product_rank(v)
    if ra == 0 or rb == 0:
        raise RuleUseError("matmul of a number is not defined (use *)")
    if ra is not None and rb is not None and ra <= 2 and rb <= 2:
        return _dot(v)
    return {"a": v.helper("matmul_vjp", v.g, v["a"], v["b"], True),
            "b": v.helper("matmul_vjp", v.g, v["a"], v["b"], False)}


def _dot_kind(v: VJP) -> Kind:
    ra, rb = _product_rank(v)
    if ra == 0:
        return v.kind("b")
    if rb == 0:
        return v.kind("a")
    if ra is None or rb is None:
        return ANY_ARRAY
    if v.rule.func is numpy.dot and (ra > 2 or rb > 2):
        return _rank(ra + rb - 2)
    if ra == 1 and rb == 1:
        return SCALAR
    if ra == 1:
        return _rank(rb - 1)
    if rb == 1:
        return _rank(ra - 1)
    return _rank(max(ra, rb))


_PRODUCT_EXAMPLES = (E(((3,), (3,))), E(((2, 3), (3, 4))), E(((2, 3), (3,))), E(((3,), (3, 2))))
add_array_rule(numpy.dot, ("a", "b"), ("a", "b"), _dot, _dot_kind,
               _PRODUCT_EXAMPLES + (E(((), (3,))), E(((2, 2), ()))), required=2, name="numpy.dot")
add_array_rule(numpy.matmul, ("a", "b"), ("a", "b"), _matmul_vjp, _dot_kind,
               _PRODUCT_EXAMPLES + (E(((2, 2, 3), (3, 4))), E(((3,), (2, 3, 4)))), required=2,
               name="numpy.matmul")
add_array_rule(operator.matmul, ("a", "b"), ("a", "b"), _matmul_vjp, _dot_kind,
               _PRODUCT_EXAMPLES, required=2, name="a @ b")


def _outer(v: VJP) -> Contributions:
    a, b, g = v["a"], v["b"], v.g
    if v.ndim("a") == 1 and v.ndim("b") == 1:
        return {"a": _matmul(g, b), "b": _matmul(a, g)}
    return {"a": call("numpy.reshape", _matmul(g, call("numpy.ravel", b)), shape(a)),
            "b": call("numpy.reshape", _matmul(call("numpy.ravel", a), g), shape(b))}


add_array_rule(numpy.outer, ("a", "b"), ("a", "b"), _outer, lambda v: array(2),
               (E(((3,), (4,))), E(((2, 2), (3,)))), required=2, name="numpy.outer")


def _inner(v: VJP) -> Contributions:
    if v.ndim("a") not in (0, 1) or v.ndim("b") not in (0, 1):
        raise RuleUseError("numpy.inner of arrays of rank 2 or more is not supported "
                           "(use numpy.einsum)")
    return _dot(v)


add_array_rule(numpy.inner, ("a", "b"), ("a", "b"), _inner, _dot_kind, (E(((3,), (3,))),),
               required=2, name="numpy.inner")


def _cross(v: VJP) -> Contributions:
    a, b, g = v["a"], v["b"], v.g
    return {"a": v.helper("unbroadcast", call("numpy.cross", b, g), a),
            "b": v.helper("unbroadcast", call("numpy.cross", g, a), b)}


add_array_rule(numpy.cross, ("a", "b"), ("a", "b"), _cross,
               lambda v: broadcast(v.kind("a"), v.kind("b")),
               (E(((3,), (3,))), E(((4, 3), (3,)))), required=2, name="numpy.cross")


def _einsum(v: VJP) -> Contributions:
    spec = v.const("subscripts")
    operands = v["operands"].elts
    if not isinstance(spec, str) or "." in spec:
        raise RuleUseError("numpy.einsum needs its subscripts as a string constant, without '...'")
    inputs: str | list[str]  # the subscripts, then split at the commas
    inputs, arrow, output = spec.replace(" ", "").partition("->")
    inputs = inputs.split(",")
    if not arrow:  # implicit output: the letters used once, in alphabetical order
        letters = "".join(inputs)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if len(inputs) != len(operands):
        raise RuleUseError(f"numpy.einsum subscripts name {len(inputs)} operands, "
                           f"{len(operands)} given")
    result: Contributions = {}

    def adjoint() -> Value:
        if output:
            return cast(Value, v.g)
        # a number, which may be a Python float: einsum would make that float64
        return call("numpy.asarray", v.g, call("numpy.result_type", v.g, *[Code(o) for o in operands]))

    for position, subscripts in enumerate(inputs):
        others = [(s, o) for i, (s, o) in enumerate(zip(inputs, operands)) if i != position]
        available = set(output) | {c for s, _ in others for c in s}
        # the operand's letters the adjoint is computed over: each once, those summed
        # over this operand alone (in no other operand nor the output) left out
        letters = "".join(c for c in dict.fromkeys(subscripts) if c in available)
        formula = ",".join([output] + [s for s, _ in others]) + "->" + letters
        reduced = call("numpy.einsum", formula, adjoint(), *[Code(o) for _, o in others])
        if letters != subscripts:  # spread back over the summed axes, onto the diagonals
            reduced = v.helper("einsum_adjoint", reduced, letters, subscripts,
                               Code(operands[position]))
        result[("operands", position)] = reduced
    return result


def _einsum_kind(v: VJP) -> Kind:
    spec = v.const("subscripts")
    if not isinstance(spec, str):
        return ANY_ARRAY
    inputs, arrow, output = spec.replace(" ", "").partition("->")
    if not arrow:
        letters = inputs.replace(",", "")
        output = "".join(c for c in set(letters) if letters.count(c) == 1)
    return _rank(len(output))


add_array_rule(numpy.einsum, ("subscripts", "operands"), (), _einsum, _einsum_kind,
               (E(((2, 3), (3, 4)), literals=("ij,jk->ik",)), E(((3,), (3,)), literals=("i,i->",)),
                E(((2, 3),), literals=("ij->ji",)), E(((2, 3), (4,)), literals=("ij,k->ijk",)),
                E(((2, 3), (2, 3)), literals=("ij,ij",)), E(((2, 3),), literals=("ij->i",)),
                E(((3, 3),), literals=("ii->i",)), E(((3, 3),), literals=("ii",)),
                E(((2, 3), (3, 4)), literals=("ij,jk",)), E(((2, 3), (3, 4)), literals=("ij,jk->j",)),
                E(((3, 3), (3,)), literals=("ii,i->i",)), E(((2, 3, 3),), literals=("ijj->ij",)),
                E(((2, 3), (4,)), literals=("ij,k->i",))),
               required=2, name="numpy.einsum", sequence="operands", variadic=True)


def _tensordot(v: VJP) -> Contributions:
    axes = v.const("axes", 2)
    ra, rb = _product_rank(v)
    if not isinstance(axes, int) or ra is None or rb is None:
        raise RuleUseError("numpy.tensordot is differentiated for an integer `axes` and "
                           "arrays of known rank")
    kept_a, kept_b = ra - axes, rb - axes  # out has a's first kept_a axes, then b's last kept_b
    out_b = tuple(range(kept_a, kept_a + kept_b))
    return {"a": call("numpy.tensordot", v.g, v["b"],
                      axes=(out_b, tuple(range(axes, rb)))),
            "b": call("numpy.tensordot", v["a"], v.g,
                      axes=(tuple(range(kept_a)), tuple(range(kept_a))))}


def _tensordot_kind(v: VJP) -> Kind:
    axes, (ra, rb) = v.const("axes", 2), _product_rank(v)
    if not isinstance(axes, int) or ra is None or rb is None:
        return ANY_ARRAY
    return _rank(ra + rb - 2 * axes)


add_array_rule(numpy.tensordot, ("a", "b", "axes"), ("a", "b"), _tensordot, _tensordot_kind,
               (E(((2, 3, 4), (3, 4, 5))), E(((2, 3), (3, 4)), {"axes": 1}),
                E(((2, 3), (4,)), {"axes": 0}), E(((2, 3), (2, 3)))),
               required=2, name="numpy.tensordot")


def _trace(v: VJP) -> Contributions:
    if v.ndim("a") != 2:
        raise RuleUseError("numpy.trace of an array that is not 2-d is not supported")
    eye = call("numpy.eye", *[item(shape(v["a"]), ast.Constant(i)) for i in (0, 1)],
               **_dtype_of(v, "a"))
    return {"a": mul(v.g, eye)}


add_array_rule(numpy.trace, ("a",), ("a",), _trace,
               # of more than two axes: an array of the others (jvp's linear rule takes it)
               lambda v: _rank((v.ndim("a") or 0) - 2) if (v.ndim("a") or 0) > 2 else SCALAR,
               (E(((3, 3),)), E(((2, 4),))), name="numpy.trace", shaped=False)


def _diag(v: VJP) -> Contributions:
    if v.const("k", 0) != 0:
        raise RuleUseError("numpy.diag with k != 0 is not supported")
    if v.ndim("v") == 1:
        return {"v": call("numpy.diagonal", v.g)}
    if v.ndim("v") == 2:
        return {"v": v.helper("diagonal_vjp", v.g, v["v"])}
    raise RuleUseError("numpy.diag of an array of unknown rank")


add_array_rule(numpy.diag, ("v", "k"), ("v",), _diag,
               lambda v: {1: array(2), 2: array(1)}.get(v.ndim("v"), ANY_ARRAY),  # type: ignore[arg-type]  # get(None) gives the default
               (E(((3,),)), E(((3, 3),)), E(((2, 4),))), name="numpy.diag")


# --- shapes ------------------------------------------------------------------------------
def _reshaped(v: VJP) -> Contributions:
    return {v.rule.params[0]: call("numpy.reshape", v.g, shape(v[v.rule.params[0]]))}


def _reshape_kind(v: VJP) -> Kind:
    return shape_kind(v.const("newshape" if v.given("newshape") else "shape", None)) \
        if (v.given("newshape") or v.given("shape")) else ANY_ARRAY


add_array_rule(numpy.reshape, ("a", "shape"), ("a",), _reshaped, _reshape_kind,
               (E(((2, 6),), literals=((3, 4),)), E(((6,),), literals=((2, -1),))),
               required=2, name="numpy.reshape")
add_array_rule(numpy.ravel, ("a",), ("a",), _reshaped, lambda v: array(1),
               (E(((2, 3),)),), name="numpy.ravel")
def _squeeze_kind(v: VJP) -> Kind:
    """The rank is known when the axes removed are given (the sizes are not known)."""
    axis, ndim = v.const("axis"), v.ndim("a")
    if axis is None or ndim is None:
        return ANY_ARRAY
    return _rank(ndim - (len(axis) if isinstance(axis, tuple) else 1))


add_array_rule(numpy.squeeze, ("a", "axis"), ("a",), _reshaped, _squeeze_kind,
               (E(((1, 3, 1),)), E(((1, 3),), {"axis": 0})), name="numpy.squeeze")
add_array_rule(numpy.expand_dims, ("a", "axis"), ("a",), _reshaped,
               lambda v: ANY_ARRAY if v.ndim("a") is None else _rank(cast(int, v.ndim("a")) + 1),
               (E(((3,),), literals=(0,)), E(((2, 3),), literals=(-1,))), required=2,
               name="numpy.expand_dims")
add_array_rule(numpy.atleast_1d, ("a",), ("a",), _reshaped,
               lambda v: v.kind("a") if v.ndim("a") else array(1), (E(((),)), E(((3,),))),
               name="numpy.atleast_1d")
add_array_rule(numpy.atleast_2d, ("a",), ("a",), _reshaped,
               lambda v: v.kind("a") if (v.ndim("a") or 0) >= 2 else array(2),
               (E(((3,),)), E(((2, 3),))), name="numpy.atleast_2d")


def _transpose(v: VJP) -> Contributions:
    axes = v.const("axes")
    if axes is None:
        return {"a": call("numpy.transpose", v.g)}
    # the inverse permutation; axes name every axis once, so a negative one counts from
    # len(axes) (argsort of (-1, 0) as given would be the identity: a wrong gradient)
    inverse = numpy.argsort([int(axis) % len(axes) for axis in axes])
    return {"a": call("numpy.transpose", v.g, tuple(int(i) for i in inverse))}


add_array_rule(numpy.transpose, ("a", "axes"), ("a",), _transpose, same_kind,
               (E(((2, 3),)), E(((2, 3, 4),), literals=((1, 2, 0),))), name="numpy.transpose")
add_array_rule(numpy.swapaxes, ("a", "axis1", "axis2"), ("a",),
               lambda v: {"a": call("numpy.swapaxes", v.g, v["axis1"], v["axis2"])}, same_kind,
               (E(((2, 3, 4),), literals=(0, 2)),), required=3, name="numpy.swapaxes")
add_array_rule(numpy.broadcast_to, ("array", "shape"), ("array",),
               lambda v: {"array": v.helper("unbroadcast", v.g, v["array"])},
               lambda v: shape_kind(v.const("shape", None)),
               (E(((3,),), literals=((2, 3),)), E(((2, 1),), literals=((2, 4),))), required=2,
               name="numpy.broadcast_to")
# an adjoint given its variable's shape (``Adjoints.shaped``): broadcast_to in the dtype
# the adjoint takes with ``like``; gradient code differentiated again meets it
add_array_rule(runtime.broadcast_like, ("adjoint", "like"), ("adjoint",),
               lambda v: {"adjoint": v.helper("unbroadcast", v.g, v["adjoint"])},
               lambda v: v.kind("like"), (E(((3,), (2, 3))), E(((2, 1), (2, 4)))),
               name="srcdiff.runtime.broadcast_like")
# the tangent forward code returns for an array result (``tangent.finish_tangent``): the
# tangent broadcast to the result's shape, in its float dtype; a Hessian-vector product
# differentiates that code again
add_array_rule(runtime.tangent_like, ("tangent", "like"), ("tangent",),
               lambda v: {"tangent": v.helper("unbroadcast", v.g, v["tangent"])},
               lambda v: v.kind("like"), (E(((3,), (2, 3))), E(((2, 1), (2, 4)))),
               name="srcdiff.runtime.tangent_like")
add_array_rule(numpy.copy, ("a", "order"), ("a",), lambda v: {"a": v.g}, same_kind,
               (E(((3,),)),), name="numpy.copy", shaped=False)
# x.copy(): what Python runs (a list's copy is a list), differentiated as numpy.copy
COPY_OF = add_array_rule(runtime.copy_of, ("a",), ("a",), lambda v: {"a": v.g}, same_kind,
                         (E(((3,),)), E(((2, 3),))), name="srcdiff.runtime.copy_of",
                         shaped=False)
# dtype: a floating one (normalize gives casts to integers and booleans to integer_cast)
add_array_rule(numpy.asarray, ("a", "dtype"), ("a",), lambda v: {"a": v.g}, same_kind,
               (E(((3,),)),), name="numpy.asarray", shaped=False)


def _flip(v: VJP) -> Contributions:
    return {"m": call("numpy.flip", v.g, v["axis"]) if v.given("axis") else call("numpy.flip", v.g)}


add_array_rule(numpy.flip, ("m", "axis"), ("m",), _flip, lambda v: v.kind("m"),
               (E(((3, 2),)), E(((3, 2),), {"axis": 1})), name="numpy.flip")
# flipud(m) is flip(m, 0), fliplr(m) flip(m, 1): each its own adjoint
add_array_rule(numpy.flipud, ("m",), ("m",), lambda v: {"m": call("numpy.flipud", v.g)},
               lambda v: v.kind("m"), (E(((3, 2),)), E(((3,),))), name="numpy.flipud")
add_array_rule(numpy.fliplr, ("m",), ("m",), lambda v: {"m": call("numpy.fliplr", v.g)},
               lambda v: v.kind("m"), (E(((3, 2),)),), name="numpy.fliplr")


# --- joining arrays ----------------------------------------------------------------------
def _written_out(v: VJP) -> Any:
    """The list or tuple of arrays a join takes, written out (``numpy.stack([a, b])``);
    refused for one array whose rows it would join (``numpy.stack(X)``), or a structured
    list passed whole."""
    parts = v["arrays"]
    if not isinstance(parts, (ast.List, ast.Tuple)):
        raise RuleUseError(f"{v.rule.name} is differentiated for a list or tuple of arrays "
                           f"written out ({v.rule.name.split('.')[-1]}([a, b])), not for one "
                           "value holding them (an array's rows, a list passed whole)")
    return parts


def _joined(promote: str, axis_default: int | str) -> Callable[[VJP], Contributions]:
    def vjp(v: VJP) -> Contributions:
        parts = _written_out(v)
        axis = v.const("axis", axis_default) if axis_default != "hstack" else None
        if axis is None and axis_default != "hstack":  # concatenate(..., axis=None): of
            axis, promote_ = 0, "numpy.ravel"  # the arrays flattened, one after the other
        else:
            promote_ = promote
        return {("arrays", i): v.helper("piece", v.g, parts, i, axis, Code(_node_path(promote_)))
                for i in range(len(parts.elts))}
    return vjp


def _node_path(path: str) -> ast.expr:
    from .expr import dotted
    return dotted(path)


def _stack(v: VJP) -> Contributions:
    axis = v.const("axis", 0)
    return {("arrays", i): call("numpy.take", v.g, i, axis=axis) for i in range(len(_written_out(v).elts))}


def _sequence_kind(v: VJP, change: int, at_least: int = 0) -> Kind:
    elements = v.kinds.get("arrays")
    if elements is None or not elements.is_array or elements.ndim is None:
        return ANY_ARRAY
    return _rank(max(elements.ndim + change, at_least))


add_array_rule(numpy.concatenate, ("arrays", "axis"), (), _joined("numpy.asarray", 0),
               lambda v: array(1) if v.given("axis") and v.const("axis", 0) is None
               else _sequence_kind(v, 0),
               (E(((2,), (3,))), E(((2, 3), (2, 1)), {"axis": 1}),
                E(((2, 3), (4,)), {"axis": None})), name="numpy.concatenate",
               sequence="arrays")
add_array_rule(numpy.stack, ("arrays", "axis"), (), _stack, lambda v: _sequence_kind(v, 1, 1),
               (E(((3,), (3,))), E(((2, 3), (2, 3)), {"axis": -1}), E(((), ()))),
               name="numpy.stack", sequence="arrays")
add_array_rule(numpy.hstack, ("arrays",), (), _joined("numpy.atleast_1d", "hstack"),
               lambda v: _sequence_kind(v, 0, 1), (E(((2,), (3,))), E(((2, 2), (2, 1))), E(((), (2,)))),
               name="numpy.hstack", sequence="arrays")
add_array_rule(numpy.vstack, ("arrays",), (), _joined("numpy.atleast_2d", 0),
               lambda v: array(2) if (v.kinds.get("arrays") or SCALAR).ndim in (0, 1, 2) else ANY_ARRAY,
               (E(((3,), (3,))), E(((2, 3), (1, 3)))), name="numpy.vstack", sequence="arrays")


def _array_vjp(v: VJP) -> Contributions:
    """numpy.array([[a, b], [c, d]]): each element's adjoint is the adjoint's item."""
    result: Contributions = {}

    def visit(node: ast.expr, path: tuple[int, ...]) -> None:
        if isinstance(node, (ast.List, ast.Tuple)):
            for i, element in enumerate(node.elts):
                visit(element, path + (i,))
        else:
            index = ast.Tuple([ast.Constant(i) for i in path], ast.Load()) if len(path) > 1 \
                else ast.Constant(path[0])
            result[("object", path)] = item(v.g, index)
    visit(v["object"], ())
    return result


def _array_kind(v: VJP) -> Kind:
    node = v.arguments.get("object")
    depth = 0
    while isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        depth, node = depth + 1, node.elts[0]
    inner = v.kinds.get("object", SCALAR)
    if not isinstance(v.arguments.get("object"), (ast.List, ast.Tuple)):
        return inner if inner.is_array else SCALAR
    if inner.is_array:
        return _rank(None if inner.ndim is None else inner.ndim + depth)
    return _rank(depth)


def _array_copy(v: VJP) -> Contributions:
    if not isinstance(v.arguments["object"], (ast.List, ast.Tuple)):
        return {"object": v.g}
    return _array_vjp(v)


add_array_rule(numpy.array, ("object", "dtype"), (), _array_copy, _array_kind,
               (E(((), ()), literals=()), E(((3,),))), name="numpy.array", sequence="object")


# --- linear algebra ----------------------------------------------------------------------
def _inv(v: VJP) -> Contributions:
    inverse = transposed(v.out)
    return {"a": neg(_matmul(_matmul(inverse, v.g), inverse))}


def _det(v: VJP) -> Contributions:  # the cofactor matrix, which a singular matrix has too
    return {"a": mul(v.g, v.helper("cofactor", v["a"], v.out))}


def _solve(v: VJP) -> Contributions:
    back = call("numpy.linalg.solve", transposed(v["a"]), v.g)
    if v.ndim("b") == 1:
        return {"a": neg(call("numpy.outer", back, v.out)), "b": back}
    return {"a": neg(_matmul(back, transposed(v.out))), "b": back}


def _norm_adjoint(v: VJP, order: Any) -> Contributions:
    """The Euclidean and Frobenius norms (``order`` None): ``x`` over the norm; the other
    vector norms for the order they are given."""
    if order is not None:
        return {"x": mul(v.expand(v.g), _norm_slope(v, order))}
    return {"x": mul(v["x"], v.expand(div(v.g, v.out)))}


def _norm_tangent_of(j: JVP, order: Any) -> Value:
    """``_norm_adjoint``'s forward rule."""
    if order is not None:
        return _norm_tangent(j, order)
    return div(j.reduce(mul(j["x"], j.t("x"))), j.out)


def _norm(v: VJP) -> Contributions:
    """linalg.norm, for the ``ord=`` it is given (``_norm_adjoint``)."""
    return _norm_adjoint(v, _norm_order(v))


def _norm_kind(v: VJP) -> Kind:
    return reduction_kind(v, "x")


def _square_only(vjp: Callable[[_V], _R]) -> Callable[[_V], _R]:
    def checked(v: _V) -> _R:
        if v.ndim("a") != 2:
            raise RuleUseError(f"{v.rule.name} is differentiated for 2-d arrays")
        return vjp(v)
    return checked


_MATRIX = (E(((3, 3),), matrix=True),)
add_array_rule(numpy.linalg.inv, ("a",), ("a",), _square_only(_inv), lambda v: array(2),
               _MATRIX, name="numpy.linalg.inv")
add_array_rule(numpy.linalg.det, ("a",), ("a",), _square_only(_det), lambda v: SCALAR,
               _MATRIX, name="numpy.linalg.det", shaped=False)


# the cofactor matrix C = det(a) inv(a)^T, the determinant's derivative (``runtime.cofactor``,
# called with ``det`` = det(a) already computed): met again in gradient code differentiated
# once more. Its derivative is the total one (``det`` is det(a), no independent argument),
# computed by runtime helpers from the inverse, or from the minors where a is singular
def _det_given(v: VJP | JVP) -> tuple[Any, ...]:
    return (v["det"],) if v.given("det") else ()


add_array_rule(runtime.cofactor, ("a", "det"), ("a",),
               _square_only(lambda v: {"a": v.helper("cofactor_adjoint", v["a"], v.g,
                                                      *_det_given(v))}),
               same_kind, _MATRIX + (E(((3, 3),)),), name="srcdiff.runtime.cofactor",
               jvp=_square_only(lambda j: j.helper("cofactor_tangent", j["a"], j.t("a"),
                                                   *_det_given(j))))
add_array_rule(numpy.linalg.solve, ("a", "b"), ("a", "b"), _square_only(_solve),
               lambda v: v.kind("b"), (E(((3, 3), (3,)), matrix=True), E(((3, 3), (3, 2)), matrix=True)),
               required=2, name="numpy.linalg.solve")
# ord=inf and -inf written as the source writes them (-numpy.inf is computed where the
# function runs, as float('-inf') is)
_NORM_EXAMPLES = (E(((3,),)), E(((2, 3),)), E(((2, 3),), {"axis": 1}),
                  E(((4,),), {"ord": 1}), E(((2, 3),), {"ord": 1, "axis": 0}),
                  E(((4,),), {"ord": 2}), E(((4,),), {"ord": 3}), E(((4,),), {"ord": 0.5}),
                  E(((4,),), {"ord": -1.5}), E(((3, 4),), {"ord": 2.5, "axis": -1, "keepdims": True}),
                  E(((4,),), {"ord": _Written("numpy.inf")}),
                  E(((2, 4),), {"ord": _Written("-numpy.inf"), "axis": 1}),
                  E(((3, 4),), {"ord": _Written("numpy.inf"), "axis": 0}),
                  E(((4,),), {"ord": _Written("float('-inf')")}),
                  E(((4,),), {"ord": 0}),
                  E(((2, 3),), {"ord": "fro"}), E(((2, 3, 2),), {"ord": "fro", "axis": (0, 2)}))
add_array_rule(numpy.linalg.norm, ("x", "ord", "axis", "keepdims"), ("x",), _norm, _norm_kind,
               _NORM_EXAMPLES, name="numpy.linalg.norm")


# --- SciPy -------------------------------------------------------------------------------
def load_scipy() -> bool:
    """Register the ``scipy.special`` rules; False when SciPy is not installed."""
    try:
        # SciPy ships no types (they are the separate scipy-stubs); absent, it is skipped
        import scipy.special  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return False
    special = scipy.special
    RULES.add(special.expit, lambda x: 1 / (1 + exp(-x)), lambda x, out: out * (1 - out),
              name="scipy.special.expit")
    RULES.alias(special.erf, math.erf, 1, name="scipy.special.erf")
    RULES.alias(special.erfc, math.erfc, 1, name="scipy.special.erfc")
    TOTAL.update({special.expit, special.erf, special.erfc})
    # log |gamma(x)|: its derivative is digamma (runtime.digamma, whose own is trigamma),
    # infinite at 0 and the negative integers, where gammaln is (SciPy's values there)
    RULES.add(special.gammaln, lambda x: loggamma(x), lambda x: digamma(x), (POSITIVE,),
              name="scipy.special.gammaln")
    RULES.add(runtime.digamma, lambda x: digamma(x), lambda x: trigamma(x), (POSITIVE,),
              name="srcdiff.runtime.digamma")
    # x log(y) and x log1p(y), 0 where x is 0: there the derivative in y is 0 whatever y
    # (the function is 0 along y), written so that no branch divides by zero; in x it is
    # log(y) (-inf at y = 0, as the function's slope there)
    RULES.add(special.xlogy, lambda x, y: x * log(y),
              lambda x, y: (log(y), x / select(equal(x, 0), 1, y)), (REAL, POSITIVE),
              name="scipy.special.xlogy")
    RULES.add(special.xlog1py, lambda x, y: x * log(1 + y),
              lambda x, y: (log1p(y), x / select(equal(x, 0), 1, 1 + y)), (REAL, ABOVE_MINUS_ONE),
              name="scipy.special.xlog1py")

    def no_weights(v: VJP) -> None:
        if v.given("b") and v.const("b") is not None:
            raise RuleUseError("scipy.special.logsumexp with b= is not supported")

    def logsumexp(v: VJP) -> Contributions:
        no_weights(v)
        return {"a": mul(call("numpy.exp", v["a"] - v.expand(v.out)), v.expand(v.g))}

    def logsumexp_jvp(j: JVP) -> Value:
        no_weights(j)
        return j.reduce(mul(call("numpy.exp", j["a"] - j.expand(j.out)), j.t("a")))

    rule = add_array_rule(special.logsumexp, ("a", "axis", "b", "keepdims"), ("a",), logsumexp,
                          reduction_kind, _REDUCE_EXAMPLES, name="scipy.special.logsumexp")
    object.__setattr__(rule, "jvp", logsumexp_jvp)
    return True


# --- indexing and item assignment ----------------------------------------------------------
def getitem(array: Any, index: Any) -> Any:
    """``array[index]`` (the primitive a subscript is lowered to)."""
    return array[index]


def _getitem(v: VJP) -> Contributions:
    index = v.arguments["index"]
    if _only_new_axes(index):  # x[None, :, :]: a reshape, whose adjoint is one too
        return {"array": call("numpy.reshape", v.g, shape(v["array"]))}
    return {"array": v.helper("scatter", v.g, v["array"], v["index"])}


def _only_new_axes(index: ast.expr) -> bool:
    """An index of ``None``, ``...`` and whole-axis ``:`` only (possibly in ``numpy.s_``)."""
    if isinstance(index, ast.Subscript):
        index = index.slice
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return all((isinstance(p, ast.Constant) and (p.value is None or p.value is Ellipsis))
               or (isinstance(p, ast.Slice) and p.lower is None and p.upper is None
                   and p.step is None) for p in parts)


GETITEM = add_array_rule(getitem, ("array", "index"), ("array",), _getitem, lambda v: ANY_ARRAY,
                         (), required=2, name="indexing")


def _set_item(v: VJP) -> Contributions:
    g, index = v.g, _node(v.arguments["index"])
    value: Contributions = {"value": v.helper("assigned", g, v["array"], index, v["value"])}
    return {"array": v.helper("zero_item", g, v["array"], index), **value}


SET_ITEM = add_array_rule(runtime.set_item, ("array", "index", "value"), ("array", "value"), _set_item,
                          lambda v: v.kind("array"), (), required=3, name="item assignment")
# --- lists grown while the function runs (runtime.empty_list and the rest) -----------------
# A list's adjoint is an array of shape (len, *element shape), the array NumPy makes of it.
def _grown_kind(v: VJP) -> Kind:
    ndim = v.ndim("value")
    return ANY_ARRAY if ndim is None else array(ndim + 1)


APPENDED = add_array_rule(
    runtime.appended, ("items", "value"), ("items", "value"),
    lambda v: {"items": v.helper("appended_items", v.g, v["items"], v["value"]),
               "value": v.helper("appended_value", v.g, v["items"], v["value"])},
    _grown_kind, (E(((2, 3), (3,))), E(((3,), ())), E(((0,), ()))),
    name="srcdiff.runtime.appended", shaped=False,
    # (the tangent of a list made of constants may be a plain zero: of what length, the
    # list says)
    jvp=lambda j: j.helper("appended_tangent", j.t("items"), j["items"], j.t("value")))
# forward code's appended (a Hessian differentiates that code again): linear in the
# tangents, ``items`` giving a plain zero tangent its length
APPENDED_TANGENT = add_array_rule(
    runtime.appended_tangent, ("tangent", "items", "value_tangent"), ("tangent", "value_tangent"),
    lambda v: {"tangent": v.helper("appended_items", v.g, v["items"], v["value_tangent"]),
               "value_tangent": v.helper("appended_value", v.g, v["items"], v["value_tangent"])},
    lambda v: _grown_kind(VJP(v.rule, v.arguments, {"value": v.kind("value_tangent")})),
    (E(((2, 3), (2, 3), (3,))), E(((3,), (3,), ()))),
    name="srcdiff.runtime.appended_tangent", shaped=False,
    jvp=lambda j: j.helper("appended_tangent", j.t("tangent"), j["items"], j.t("value_tangent")))
LIST_ARRAY = add_array_rule(runtime.list_array, ("items",), ("items",), lambda v: {"items": v.g},
                            lambda v: v.kind("items"), (E(((3,),)), E(((2, 3),))),
                            name="srcdiff.runtime.list_array", shaped=False, jvp="linear")


def _list_stack(v: VJP) -> Contributions:
    axis = v.const("axis", 0)
    return {"items": v.g if axis == 0 else call("numpy.moveaxis", v.g, axis, 0)}


LIST_STACK = add_array_rule(runtime.list_stack, ("items", "axis"), ("items",), _list_stack,
                            lambda v: v.kind("items"),
                            (E(((3, 2),)), E(((3, 2),), {"axis": 1}), E(((3, 2),), {"axis": -1})),
                            name="srcdiff.runtime.list_stack", shaped=True, jvp="linear")


# x.item(): the element of a size-1 array; its adjoint fills an array of x's shape
ITEM = add_array_rule(runtime.item_of, ("a",), ("a",),
                      lambda v: {"a": call("numpy.full_like", v["a"], v.g)}, lambda v: SCALAR,
                      (E(((1,),)), E(((1, 1),))), name="srcdiff.runtime.item_of", shaped=False)
# A number's derivative returned in its parameter's or result's dtype (``reverse.finish``,
# ``tangent.finish_tangent``): the number itself, the dtype given by ``like``. A
# Hessian-vector product differentiates the tangent code that returns it.
RULES.add(runtime.number_like, lambda number, like: number, lambda number, like: (1, 0),
          name="srcdiff.runtime.number_like")

# --- more array functions (issue 13) --------------------------------------------------------
# Rearrangements (roll, tile, repeat, moveaxis, diagonal, tril, triu, take, pad, atleast_3d)
# and differences are linear: their forward rule applies them to the tangent, their adjoint
# undoes the rearrangement (summing where the function copied an element to several places).
def _negated(value: Any) -> Any:
    return tuple(-x for x in value) if isinstance(value, tuple) else -value


def _roll(v: VJP) -> Contributions:
    """Rolled back; a shift that is not a constant (a loop's counter) is negated where
    the gradient runs."""
    axis = v.const("axis")
    try:
        shift = _negated(v.const("shift"))
    except RuleUseError:
        shift = call("numpy.negative", v["shift"])
    keywords = {} if axis is None else {"axis": axis}
    return {"a": call("numpy.roll", v.g, shift, **keywords)}


def _known_rank(v: VJP, name: str, least: int = 1) -> int | None:
    """The rank of the argument ``name`` (None: an array of unknown rank); a located
    refusal where it is known to be less than ``least``."""
    ndim = v.ndim(name)
    if ndim is not None and ndim < least:
        raise RuleUseError(f"{v.rule.name} of " + ("a number" if ndim == 0 else
                           f"an array of rank {ndim}") + " is not supported")
    return ndim


def _reps(v: VJP) -> tuple[int, ...]:
    reps = v.const("reps")
    reps = (reps,) if isinstance(reps, int) else reps
    if not isinstance(reps, tuple) or not all(isinstance(r, int) and r >= 0 for r in reps):
        raise RuleUseError("numpy.tile needs `reps` written as an integer or a tuple of them")
    return reps


def _tile(v: VJP) -> Contributions:
    """The copies summed: the result's axis k of size reps[k] * n[k] is split into
    (reps[k], n[k]) and the copies' axes are summed."""
    reps, ndim = _reps(v), _known_rank(v, "A", 0)
    if ndim is None:
        return {"A": v.helper("tile_adjoint", v.g, v["A"], reps)}
    if ndim == 0:
        return {"A": call("numpy.sum", v.g)}
    rank = max(ndim, len(reps))
    reps = (1,) * (rank - len(reps)) + reps
    sizes = [1] * (rank - ndim) + [item(shape(v["A"]), ast.Constant(i)) for i in range(ndim)]
    split = ast.Tuple([_node(x) for pair in zip(reps, sizes) for x in pair], ast.Load())
    summed = call("numpy.sum", call("numpy.reshape", v.g, Code(split)),
                  axis=tuple(range(0, 2 * rank, 2)))
    return {"A": call("numpy.reshape", summed, shape(v["A"]))}


def _tile_kind(v: VJP) -> Kind:
    ndim, reps = v.ndim("A"), v.const("reps")
    if ndim is None or not isinstance(reps, (int, tuple)):
        return ANY_ARRAY
    return _rank(max(ndim, 1 if isinstance(reps, int) else len(reps)))


def _repeat(v: VJP) -> Contributions:
    """Each element copied ``repeats`` times in a row along the axis: the adjoint sums
    every ``repeats``-th slice, each starting one further."""
    repeats, axis = v.const("repeats"), v.const("axis")
    if not isinstance(repeats, int) or repeats < 1:
        raise RuleUseError("numpy.repeat is differentiated for `repeats` written as a "
                           "positive integer")
    rank = _known_rank(v, "a") if axis is not None else v.ndim("a")
    if rank == 0:
        return {"a": call("numpy.sum", v.g)}
    if repeats > 4 or (axis is not None and axis < 0 and rank is None):
        return {"a": v.helper("repeat_adjoint", v.g, v["a"], repeats, axis)}
    if axis is None:
        flat, before = call("numpy.ravel", v.g), 0
    else:
        flat, before = v.g, axis % rank if rank else axis
    total: Value | None = None
    for start in range(repeats):
        index = [ast.Slice()] * before + [ast.Slice(ast.Constant(start) if start else None, None,
                                                    ast.Constant(repeats) if repeats > 1 else None)]
        part = item(flat, ast.Tuple(cast("list[ast.expr]", index), ast.Load()) if before else index[0])
        total = part if total is None else total + part
    return {"a": call("numpy.reshape", total, shape(v["a"]))}


def _repeat_kind(v: VJP) -> Kind:
    return array(1) if v.const("axis") is None else v.kind("a")


def _moveaxis(v: VJP) -> Contributions:
    _known_rank(v, "a")
    return {"a": call("numpy.moveaxis", v.g, v.const("destination"), v.const("source"))}


def _diagonal(v: VJP) -> Contributions:
    _known_rank(v, "a", 2)
    offset, axis1, axis2 = (v.const(n, d) for n, d in (("offset", 0), ("axis1", 0), ("axis2", 1)))
    return {"a": v.helper("diagonal_adjoint", v.g, v["a"], offset, axis1, axis2)}


def _diagonal_kind(v: VJP) -> Kind:
    ndim = v.ndim("a")
    return ANY_ARRAY if ndim is None else _rank(ndim - 1)


def _triangle(v: VJP) -> Contributions:
    _known_rank(v, "m", 2)
    k = v.const("k", 0)
    if not isinstance(k, int):
        raise RuleUseError(f"{v.rule.name} needs `k` written as an integer")
    return {"m": call(v.rule.name, v.g, k) if k else call(v.rule.name, v.g)}


def _no_ends(v: VJP) -> None:
    for name in ("prepend", "append"):
        if v.given(name):
            raise RuleUseError(f"`{name}=` of numpy.diff is not supported")


def _diff(v: VJP) -> Contributions:
    """One difference ``out[i] = a[i + 1] - a[i]`` has the adjoint ``g[i - 1] - g[i]``:
    g padded with a zero before, minus g padded with a zero after (n times)."""
    _no_ends(v)
    n, axis, rank = v.const("n", 1), v.const("axis", -1), _known_rank(v, "a")
    if not isinstance(n, int) or n < 0 or not isinstance(axis, int):
        raise RuleUseError("numpy.diff needs `n` and `axis` written as integers")
    if rank is None:
        return {"a": v.helper("diff_adjoint", v.g, n, axis)}
    axis %= rank
    widths: Callable[[bool], tuple[tuple[int, int], ...]] = lambda before: tuple((int(before), int(not before)) if k == axis else (0, 0)
                                  for k in range(rank))
    g = v.g
    for _ in range(n):
        g = call("numpy.pad", g, widths(True)) - call("numpy.pad", g, widths(False))
    return {"a": g}


def _diff_jvp(j: JVP) -> Value:
    _no_ends(j)
    keywords = {k: j.const(k) for k in ("n", "axis") if j.given(k)}
    return call("numpy.diff", j.t("a"), **keywords)


def _cumprod(v: VJP) -> Contributions:
    """``out[i] = a[0] ... a[i]``: ``d out[j] / d a[i] = out[j] / a[i]`` for j >= i (the
    input must have no zeros, as for numpy.prod): reversed running sums of ``g * out``."""
    _no_out(v)
    axis = v.const("axis")
    weighted = mul(v.g, v.out)
    if axis is None:
        backwards = item(weighted, ast.Slice(None, None, ast.Constant(-1)))
        summed = item(call("numpy.cumsum", backwards), ast.Slice(None, None, ast.Constant(-1)))
        return {"a": div(call("numpy.reshape", summed, shape(v["a"])), v["a"])}
    summed = call("numpy.flip", call("numpy.cumsum", call("numpy.flip", weighted, axis), axis), axis)
    return {"a": div(summed, v["a"])}


def _cumprod_jvp(j: JVP) -> Value:
    _no_out(j)
    axis = j.const("axis")
    keywords = {} if axis is None else {"axis": axis}
    return mul(call("numpy.cumsum", div(j.t("a"), j["a"]), **keywords), j.out)


def _no_mode(v: VJP) -> None:
    if v.given("mode") and v.const("mode") not in (None, "raise"):
        raise RuleUseError("`mode=` of numpy.take is not supported (indices must be in range)")
    if v.given("out") and v.const("out") is not None:
        raise RuleUseError("`out=` of numpy.take is not supported")


def _take(v: VJP) -> Contributions:
    _no_mode(v)
    if v.const("axis") is not None:
        _known_rank(v, "a")
    return {"a": v.helper("take_adjoint", v.g, v["a"], v["indices"], v.const("axis"))}


def _take_jvp(j: JVP) -> Value:
    _no_mode(j)
    keywords = {} if j.const("axis") is None else {"axis": j.const("axis")}
    return call("numpy.take", j.t("a"), j["indices"], **keywords)


def _take_kind(v: VJP) -> Kind:
    node = v.arguments.get("indices")
    indices: int | None
    if isinstance(node, (ast.List, ast.Tuple, ast.Constant)) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)):
        indices = 0  # a number, or lists of them nested as deep as the first element
        while isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            indices, node = indices + 1, node.elts[0]
    else:
        kind = v.kind("indices")
        indices = kind.ndim if kind.is_array else 0
    ndim = v.ndim("a")
    if indices is None or (v.const("axis") is not None and ndim is None):
        return ANY_ARRAY
    # with an axis, ndim is known (tested above)
    return _rank(indices if v.const("axis") is None else cast(int, ndim) - 1 + indices)


def _fsum_rank(v: VJP) -> NoReturn:
    what = "a number" if v.ndim("a") == 0 else f"an array of rank {v.ndim('a')}"
    raise RuleUseError(f"math.fsum of {what}: Python raises TypeError (it adds the "
                       "numbers of an iterable, such as a 1-D array)")


def _vdot(v: VJP) -> Contributions:
    a, b = v["a"], v["b"]
    flat: Callable[[Value], Code] = lambda x: call("numpy.ravel", x)
    return {"a": call("numpy.sum", mul(v.g, b)) if v.ndim("a") == 0 else
            call("numpy.reshape", mul(v.g, flat(b)), shape(a)),
            "b": call("numpy.sum", mul(v.g, a)) if v.ndim("b") == 0 else
            call("numpy.reshape", mul(v.g, flat(a)), shape(b))}


def _nansum(v: VJP) -> Contributions:
    _no_out(v, ("where", "initial"))  # the zeros of a's dtype: where(mask, 0.0, 1.0) would be float64
    zeros = call("numpy.zeros_like", v["a"])
    adjoint: Contributions = {"a": call("numpy.where", call("numpy.isnan", v["a"]), zeros,
                                        _masked(v, v.expand(v.g)))}
    if _initial(v) is not None:
        adjoint["initial"] = _to_initial(v, v.g)
    return adjoint


def _nansum_jvp(j: JVP) -> Value:
    _no_out(j, ("where", "initial"))
    where = {"where": j["where"]} if _mask(j) is not None else {}
    tangent = call("numpy.sum", call("numpy.where", call("numpy.isnan", j["a"]), 0.0, j.t("a")),
                   **_reduce_options(j), **where)
    if _initial(j) is not None and j.differentiated("initial"):
        return add(tangent, j.t("initial"))
    return tangent


def _kron(v: VJP) -> Contributions:
    return {"a": v.helper("kron_adjoint", v.g, v["a"], v["b"], True),
            "b": v.helper("kron_adjoint", v.g, v["a"], v["b"], False)}


def _pad_widths(v: VJP) -> Any:
    """``pad_width`` as one (before, after) pair per axis, or as written when the rank
    is not known."""
    mode = v.const("mode", "constant")
    if mode != "constant":
        raise RuleUseError(f"numpy.pad is differentiated in mode 'constant' (not {mode!r})")
    v.const("constant_values")  # a constant (not differentiated), or a located refusal
    rank = _known_rank(v, "array", 0)
    widths = v.const("pad_width")
    if rank is None:
        return widths
    try:
        widths = numpy.broadcast_to(numpy.asarray(widths, dtype=int), (rank, 2))
    except (TypeError, ValueError):
        raise RuleUseError("numpy.pad needs `pad_width` written as integers") from None
    return tuple((int(b), int(a)) for b, a in widths)


def _pad(v: VJP) -> Contributions:
    widths = _pad_widths(v)
    if v.ndim("array") is None:
        return {"array": v.helper("unpad", v.g, widths)}
    index: list[ast.expr] = [ast.Slice(ast.Constant(b) if b else None,
                       _node(-a) if a else None) for b, a in widths]
    if not index:
        return {"array": v.g}
    return {"array": item(v.g, ast.Tuple(index, ast.Load()) if len(index) > 1 else index[0])}


def _pad_jvp(j: JVP) -> Value:  # the padding is a constant: its tangent is zero
    return call("numpy.pad", j.t("array"), _pad_widths(j))


def _phi(x: Value, square: Value) -> Value:
    """The lower triangle of ``x`` with its diagonal halved (Cholesky's derivative): ``x``
    times a constant mask of the shape and dtype of ``square``."""
    diagonal = call("numpy.eye", item(shape(square), ast.Constant(0)), dtype=Code(_node_path("numpy.bool_")))
    lower = call("numpy.tril", call("numpy.ones_like", square))
    return mul(x, call("numpy.where", diagonal, 0.5, lower))


def _cholesky(v: VJP) -> Contributions:
    """numpy's cholesky reads the lower triangle of ``a`` only: the adjoint of a symmetric
    perturbation, ``P = L^-T phi(L^T g) L^-1``, folded onto the lower triangle
    (``phi(P + P^T)``)."""
    inverse = call("numpy.linalg.inv", v.out)
    p = _matmul(_matmul(transposed(inverse), _phi(_matmul(transposed(v.out), v.g), v.out)),
                inverse)
    return {"a": _phi(p + transposed(p), v.out)}


def _cholesky_jvp(j: JVP) -> Value:
    """``dL = L phi(L^-1 dA L^-T)``, ``dA`` the symmetric matrix the lower triangle of the
    tangent stands for."""
    t = j.t("a")
    symmetric = call("numpy.tril", t) + transposed(call("numpy.tril", t, -1))
    inverse = call("numpy.linalg.inv", j.out)  # einsum: a result of known rank
    rotated = call("numpy.einsum", "ij,jk,lk->il", inverse, symmetric, inverse)
    return _matmul(j.out, _phi(rotated, j.out))


def _full_only(v: VJP) -> None:
    if v.const("mode", "full") != "full":
        raise RuleUseError("numpy.convolve is differentiated in mode 'full' only")
    if v.ndim("a") not in (1, None) or v.ndim("v") not in (1, None):
        raise RuleUseError("numpy.convolve is differentiated for 1-d arrays")


def _convolve(v: VJP) -> Contributions:
    """``out[n] = sum_m a[m] v[n - m]``: a's adjoint is g correlated with v, the middle of
    the full convolution of g with v reversed (and the same for v)."""
    _full_only(v)
    a, w, g = v["a"], v["v"], v.g

    def correlated(other: Value, length: Value) -> Code:
        full = call("numpy.convolve", g, call("numpy.flip", other))
        start = call("numpy.size", other) - 1
        return item(full, ast.Slice(_node(start), _node(start + length)))
    return {"a": correlated(w, call("numpy.size", a)), "v": correlated(a, call("numpy.size", w))}


def _median_check(v: VJP) -> Any:
    for name in ("out", "overwrite_input"):
        if v.given(name) and v.const(name) not in (None, False):
            raise RuleUseError(f"`{name}=` of numpy.median is not supported")
    axis = v.const("axis")
    if axis is not None and not isinstance(axis, int):
        raise RuleUseError("numpy.median is differentiated along one axis or all of them")
    return axis


def _median_weights(v: VJP) -> Value:
    """How much each element of ``a`` counts in the median: the middle one (odd length)
    or the two middle ones (even: the largest element at most the median, the smallest
    at least it) take half each, ties sharing their half equally, as for numpy.max.
    Comparisons only: a derivative of this code treats the weights as constants."""
    axis = _median_check(v)
    a, middle = v["a"], v.expand(v.out)
    keywords = {"keepdims": True} if axis is None else {"axis": axis, "keepdims": True}
    infinity = Code(_node_path("numpy.inf"))

    def half(comparison: ast.cmpop, reduce: str, fill: Value) -> Value:
        nearest = call(reduce, call("numpy.where", Code(ast.Compare(a.node, [comparison], [_node(middle)])),
                                    a, fill), **keywords)
        chosen = Code(ast.Compare(a.node, [ast.Eq()], [_node(nearest)]))
        # the count in a's dtype and the mask times 0.5 / count (0.5 times a mask is
        # float64); forward code is differentiated again, so it names no dtype: full_like
        count = call("numpy.full_like", nearest, call("numpy.sum", chosen, **keywords)) \
            if isinstance(v, JVP) else call("numpy.sum", chosen, **keywords, **_dtype_of(v, "a"))
        return mul(chosen, div(0.5, count))
    return half(ast.LtE(), "numpy.max", neg(infinity)) + half(ast.GtE(), "numpy.min", infinity)


def _median(v: VJP) -> Contributions:
    return {"a": mul(v.expand(v.g), _median_weights(v))}


def _median_jvp(j: JVP) -> Value:
    return j.reduce(mul(_median_weights(j), j.t("a")))


add_array_rule(numpy.roll, ("a", "shift", "axis"), ("a",), _roll, same_kind,
               (E(((5,),), literals=(2,)), E(((3, 4),), literals=(1,)),
                E(((3, 4),), {"axis": 1}, literals=(-1,)),
                E(((3, 4),), {"axis": (0, 1)}, literals=((1, 2),))),
               required=2, name="numpy.roll", jvp="linear")
add_array_rule(numpy.tile, ("A", "reps"), ("A",), _tile, _tile_kind,
               (E(((3,),), literals=(2,)), E(((2, 3),), literals=((2, 1),)),
                E(((3,),), literals=((2, 2),)), E(((2, 3),), literals=(3,)), E(((),), literals=(2,))),
               required=2, name="numpy.tile", jvp="linear")
add_array_rule(numpy.repeat, ("a", "repeats", "axis"), ("a",), _repeat, _repeat_kind,
               (E(((3,),), literals=(2,)), E(((),), literals=(3,)), E(((2, 2),), literals=(5,)), E(((2, 3),), literals=(2,)),
                E(((2, 3),), {"axis": 1}, literals=(3,)), E(((2, 3),), {"axis": -2}, literals=(2,))),
               required=2, name="numpy.repeat", jvp="linear")
add_array_rule(numpy.moveaxis, ("a", "source", "destination"), ("a",), _moveaxis, same_kind,
               (E(((2, 3, 4),), literals=(0, -1)), E(((2, 3, 4),), literals=((0, 1), (2, 0)))),
               required=3, name="numpy.moveaxis", jvp="linear")
add_array_rule(numpy.diagonal, ("a", "offset", "axis1", "axis2"), ("a",), _diagonal,
               _diagonal_kind,
               (E(((3, 3),)), E(((3, 4),), {"offset": 1}), E(((4, 3),), {"offset": -2}),
                E(((2, 3, 4),), {"axis1": 2, "axis2": 0})),
               name="numpy.diagonal", jvp="linear")
for _func in (numpy.tril, numpy.triu):
    add_array_rule(_func, ("m", "k"), ("m",), _triangle, lambda v: v.kind("m"),
                   (E(((3, 3),)), E(((3, 4),), {"k": 1}), E(((2, 3, 3),), {"k": -1})),
                   name=f"numpy.{_func.__name__}", jvp="linear")
add_array_rule(numpy.diff, ("a", "n", "axis", "prepend", "append"), ("a",), _diff,
               lambda v: v.kind("a"),
               (E(((5,),)), E(((3, 4),)), E(((3, 4),), {"axis": 0}), E(((5,),), {"n": 2}),
                E(((2, 3, 4),), {"n": 2, "axis": 1})),
               name="numpy.diff", jvp=_diff_jvp)
add_array_rule(numpy.cumprod, ("a", "axis", "dtype", "out"), ("a",), _cumprod,
               lambda v: array(1) if v.const("axis") is None else same_kind(v),
               (E(((5,),), positive=True), E(((3, 4),), positive=True),
                E(((3, 4),), {"axis": 1}, positive=True), E(((2, 3),), {"axis": -2}, positive=True)),
               name="numpy.cumprod", jvp=_cumprod_jvp)
add_array_rule(numpy.take, ("a", "indices", "axis", "out", "mode"), ("a",), _take, _take_kind,
               (E(((5,),), literals=([0, 3, 3, -1],)), E(((3, 4),), literals=(5,)),
                E(((3, 4),), {"axis": 1}, literals=([[0, 1], [3, 3]],)),
                E(((3, 4),), {"axis": 0}, literals=(-1,))),
               required=2, name="numpy.take", jvp=_take_jvp)
add_array_rule(numpy.vdot, ("a", "b"), ("a", "b"), _vdot, lambda v: SCALAR,
               (E(((3,), (3,))), E(((2, 3), (2, 3))), E(((2, 3), (6,)))),
               required=2, name="numpy.vdot", shaped=False, jvp="multilinear")
# math.fsum of a 1-D array (normalize writes out the elements of lists it knows): 1 each.
# No examples: its result is a Python float whatever the array's dtype, which the
# examples' dtype checks do not expect; tests/test_lists.py checks it.
add_array_rule(math.fsum, ("a",), ("a",), lambda v: {"a": mul(v.g, call("numpy.ones_like", v["a"]))}
               if v.ndim("a") in (1, None) else _fsum_rank(v),
               lambda v: SCALAR,
               (), name="math.fsum", shaped=False, jvp="linear")  # tests/test_lists.py
add_array_rule(numpy.atleast_3d, ("a",), ("a",), _reshaped,
               lambda v: ANY_ARRAY if v.ndim("a") is None else
               v.kind("a") if cast(int, v.ndim("a")) >= 3 else array(3),
               (E(((),)), E(((3,),)), E(((2, 3),)), E(((2, 3, 2),))),
               name="numpy.atleast_3d", jvp="linear")
add_array_rule(numpy.nansum, _SUM_PARAMS, ("a", "initial"), _nansum, reduction_kind,
               _REDUCE_EXAMPLES + _MASKED_EXAMPLES[1:3] + _INITIAL_EXAMPLES[2:4],
               name="numpy.nansum", jvp=_nansum_jvp)
add_array_rule(numpy.kron, ("a", "b"), ("a", "b"), _kron,
               lambda v: ANY_ARRAY if None in _product_rank(v) else
               _rank(max(cast("tuple[int, int]", _product_rank(v)))),
               (E(((2,), (3,))), E(((2, 2), (3, 2))), E(((2, 1, 2), (1, 2, 2))),
                E(((2, 3), (2,))), E(((), (3,))), E(((2,), (2, 2)))),
               required=2, name="numpy.kron", jvp="multilinear")
add_array_rule(numpy.pad, ("array", "pad_width", "mode", "constant_values"), ("array",), _pad,
               lambda v: v.kind("array"),
               (E(((3,),), literals=(2,)), E(((2, 3),), literals=((1, 2),)),
                E(((2, 3),), {"constant_values": 1.5}, literals=(((0, 1), (2, 0)),))),
               required=2, name="numpy.pad", jvp=_pad_jvp)
def _matrix_only(rule: Callable[[_V], _R]) -> Callable[[_V], _R]:
    def checked(v: _V) -> _R:
        if v.ndim("a") not in (2, None):
            raise RuleUseError(f"{v.rule.name} is differentiated for 2-d arrays")
        return rule(v)
    return checked


add_array_rule(numpy.linalg.cholesky, ("a",), ("a",), _matrix_only(_cholesky),
               lambda v: array(2), (E(((3, 3),), spd=True), E(((2, 2),), spd=True)),
               name="numpy.linalg.cholesky", jvp=_matrix_only(_cholesky_jvp))
add_array_rule(numpy.convolve, ("a", "v", "mode"), ("a", "v"), _convolve, lambda v: array(1),
               (E(((4,), (3,))), E(((2,), (5,))), E(((3,), (1,)))),
               required=2, name="numpy.convolve", jvp="multilinear")  # in every mode
add_array_rule(numpy.median, ("a", "axis", "out", "overwrite_input", "keepdims"), ("a",),
               _median, reduction_kind,
               (E(((5,),)), E(((4,),)), E(((3, 4),), {"axis": 0}), E(((3, 4),), {"axis": 1}),
                E(((3, 4),), {"axis": -1, "keepdims": True}), E(((2, 3),))),
               name="numpy.median", jvp=_median_jvp)


# numpy.linalg.slogdet returns the pair (sign, log|det|), which generated code treats as
# the vector it converts to (numpy.shape of it is (2,)): reading ``[1]`` (or unpacking it)
# is indexing, whose adjoint is a vector (0, g) of that shape. The sign is piecewise
# constant.
def _slogdet(v: VJP) -> Contributions:
    return {"a": mul(item(v.g, ast.Constant(1)), transposed(call("numpy.linalg.inv", v["a"])))}


def _slogdet_jvp(j: JVP) -> Value:
    change = call("numpy.sum", mul(transposed(call("numpy.linalg.inv", j["a"])), j.t("a")))
    zero = call("numpy.zeros_like", change)  # of change's dtype (0.0 would make it float64)
    return call("numpy.array", ast.List([_node(zero), _node(change)], ast.Load()))


add_array_rule(numpy.linalg.slogdet, ("a",), ("a",), _matrix_only(_slogdet), lambda v: array(1),
               (E(((3, 3),), matrix=True), E(((2, 2),), matrix=True)),
               name="numpy.linalg.slogdet", jvp=_matrix_only(_slogdet_jvp))


# The pseudo-inverse P of A (m x n) where its rank does not change (Golub and Pereyra):
# dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P.
def _pinv_options(v: VJP) -> None:
    if v.given("hermitian") and v.const("hermitian") not in (None, False):
        raise RuleUseError("`hermitian=` of numpy.linalg.pinv is not supported")
    v.const("rcond")  # a constant (the rank must not change where it is differentiated)


def _pinv(v: VJP) -> Contributions:
    _pinv_options(v)
    a, p, g = v["a"], v.out, v.g
    gt, pt = transposed(g), transposed(p)
    x = _matmul(_matmul(gt, p), pt)  # (I - A P) G^T P P^T
    y = _matmul(_matmul(pt, p), gt)  # P^T P G^T (I - P A)
    return {"a": neg(_matmul(_matmul(pt, g), pt)) + (x - _matmul(a, _matmul(p, x)))
            + (y - _matmul(_matmul(y, p), a))}


def _pinv_jvp(j: JVP) -> Value:
    _pinv_options(j)
    a, p, t = j["a"], j.out, j.t("a")  # einsum: results of known rank
    z = call("numpy.einsum", "ij,kj,lk->il", p, p, t)  # P P^T dA^T
    q = call("numpy.einsum", "ji,kj,kl->il", t, p, p)  # dA^T P^T P
    return (neg(call("numpy.einsum", "ij,jk,kl->il", p, t, p)) + (z - _matmul(_matmul(z, a), p))
            + (q - _matmul(p, _matmul(a, q))))


add_array_rule(numpy.linalg.pinv, ("a", "rcond", "hermitian"), ("a",), _matrix_only(_pinv),
               lambda v: array(2),
               (E(((3, 3),), matrix=True), E(((3, 2),)), E(((2, 4),))),
               name="numpy.linalg.pinv", jvp=_matrix_only(_pinv_jvp))


# Eigenvalues w and eigenvectors V of a symmetric matrix, as numpy.linalg.eigvalsh and
# eigh read it (the lower triangle). For the symmetric perturbation dS the lower triangle
# of dA stands for, dw_i = v_i^T dS v_i and dV = V (F o V^T dS V), F_ij = 1 / (w_j - w_i)
# off the diagonal (distinct eigenvalues), 0 on it. Adjoints P of a symmetric perturbation
# fold onto the lower triangle as phi(P + P^T). The eigenvectors are a primitive of their
# own (``runtime.eigenvectors``), so that the rules' code can be differentiated again.
def _lower_only(v: VJP) -> None:
    if v.const("UPLO", "L") != "L":
        raise RuleUseError(f"{v.rule.name} is differentiated with UPLO='L' (the default)")


def _symmetric(t: Value) -> Value:
    return call("numpy.tril", t) + transposed(call("numpy.tril", t, -1))


def _eigvalsh(v: VJP) -> Contributions:
    _lower_only(v)
    vectors = v.helper("eigenvectors", v["a"])
    spread = _matmul(mul(vectors, v.g), transposed(vectors))  # V diag(g) V^T
    return {"a": _phi(mul(2, spread), v["a"])}


def _eigvalsh_jvp(j: JVP) -> Value:
    _lower_only(j)
    vectors = j.helper("eigenvectors", j["a"])  # einsum: a result of known rank
    return call("numpy.einsum", "ji,jk,ki->i", vectors, _symmetric(j.t("a")), vectors)


def _gaps(v: VJP, a: Value) -> Value:
    """F: 1 / (w_j - w_i) off the diagonal, 0 on it (a boolean identity: w's dtype)."""
    w = call("numpy.linalg.eigvalsh", a)
    eye = call("numpy.eye", item(shape(a), ast.Constant(0)), dtype=Code(_node_path("numpy.bool_")))
    between = call("numpy.expand_dims", w, 0) - call("numpy.expand_dims", w, 1)
    return div(call("numpy.logical_not", eye), between + eye)


def _eigenvectors(v: VJP) -> Contributions:
    p = _matmul(_matmul(v.out, mul(_gaps(v, v["a"]), _matmul(transposed(v.out), v.g))),
                transposed(v.out))
    return {"a": _phi(p + transposed(p), v["a"])}


def _eigenvectors_jvp(j: JVP) -> Value:
    rotated = call("numpy.einsum", "ji,jk,kl->il", j.out, _symmetric(j.t("a")), j.out)
    return _matmul(j.out, mul(_gaps(j, j["a"]), rotated))


add_array_rule(numpy.linalg.eigvalsh, ("a", "UPLO"), ("a",), _matrix_only(_eigvalsh),
               lambda v: array(1), (E(((3, 3),)), E(((2, 2),), spd=True)),
               name="numpy.linalg.eigvalsh", jvp=_matrix_only(_eigvalsh_jvp))
# numpy.linalg.eigh(a)[0], w of w, v = eigh(a) with v unused (normalize): eigvalsh's rule
add_array_rule(runtime.eigenvalues, ("a", "UPLO"), ("a",), _matrix_only(_eigvalsh), lambda v: array(1),
               (E(((3, 3),)),), name="srcdiff.runtime.eigenvalues", jvp=_matrix_only(_eigvalsh_jvp))
add_array_rule(runtime.eigenvectors, ("a",), ("a",), _matrix_only(_eigenvectors),
               lambda v: array(2), (), name="eigenvectors", jvp=_matrix_only(_eigenvectors_jvp))


def _eigh(v: VJP) -> NoReturn:
    raise RuleUseError("numpy.linalg.eigh is not differentiated (its eigenvectors are defined "
                       "up to sign); for the eigenvalues, call numpy.linalg.eigvalsh")


# Refused with advice where its result depends on what is differentiated (no examples).
add_array_rule(numpy.linalg.eigh, ("a", "UPLO"), ("a",), _eigh, lambda v: ANY_ARRAY, (),
               name="numpy.linalg.eigh", jvp=_eigh)


# --- more functions people's programs call (met in autograd's examples) ------------------------
# Integrals, polynomials, interpolation, NaN-aware means, covariances, matrix powers. Where
# a rule needs a function of its own in forward code (which hvp differentiates again), that
# function is a primitive of srcdiff.runtime with a rule here (polyder, interp_slope,
# cov_tangent); the vector-Jacobian rules call plain helpers.
def _given(v: VJP, name: str) -> bool:
    """Whether ``name`` is given, and not as None."""
    return v.given(name) and not _is_constant(v, name, None)


def _differentiated_term(j: JVP, name: str, term: Callable[[], Value]) -> Value:
    """``term()``, the tangent's part through the argument ``name``: 0 where it carries
    no derivative."""
    return term() if j.differentiated(name) else 0


def _trapezoid_axis(v: VJP) -> int:
    axis = v.const("axis", -1)
    if not isinstance(axis, int):
        raise RuleUseError(f"{v.rule.name} needs `axis` written as an integer")
    _known_rank(v, "y")
    return axis


def _trapezoid(v: VJP) -> Contributions:
    """The widths are ``x``'s differences (``dx`` is not read then) or ``dx``."""
    axis = _trapezoid_axis(v)
    x = v["x"] if _given(v, "x") else None
    dx = v["dx"] if v.given("dx") else 1.0
    adjoint: Contributions = {"y": v.helper("trapezoid_adjoint", v.g, v["y"], x, dx, axis, "y")}
    if x is not None:
        adjoint["x"] = v.helper("trapezoid_adjoint", v.g, v["y"], x, dx, axis, "x")
    elif v.given("dx"):
        adjoint["dx"] = v.helper("trapezoid_adjoint", v.g, v["y"], x, dx, axis, "dx")
    return adjoint


def _trapezoid_jvp(j: JVP) -> Value:
    """Linear in ``y``, and in ``x`` (or ``dx``) for a given ``y``: one term each."""
    axis = _trapezoid_axis(j)
    name = j.rule.name
    if _given(j, "x"):
        return add(_differentiated_term(j, "y", lambda: call(name, j.t("y"), j["x"], axis=axis)),
                   _differentiated_term(j, "x", lambda: call(name, j["y"], j.t("x"), axis=axis)))
    dx = {"dx": j["dx"]} if j.given("dx") else {}
    return add(_differentiated_term(j, "y", lambda: call(name, j.t("y"), axis=axis, **dx)),
               _differentiated_term(j, "dx", lambda: call(name, j["y"], dx=j.t("dx"), axis=axis)))


def _trapezoid_kind(v: VJP) -> Kind:
    rank = v.ndim("y")
    widths = v.ndim("x") if _given(v, "x") else 1
    if rank is None or widths is None:
        return ANY_ARRAY
    return _rank(max(rank, widths if widths > 1 else rank) - 1)


_TRAPEZOID_EXAMPLES = (E(((5,),)), E(((5,), (5,))), E(((3, 4), (4,))), E(((3, 4), (3, 4)), {"axis": 0}),
                       E(((3, 4),), {"axis": 0, "dx": 0.5}), E(((4,), ()), named=("dx",)),
                       E(((2, 3), (3,)), {"axis": -1}), E(((4, 3), (4, 1)), {"axis": 0}))
for _func in (numpy.trapezoid, getattr(numpy, "trapz", None)):  # trapz: NumPy before 2.4
    if _func is not None:
        add_array_rule(_func, ("y", "x", "dx", "axis"), ("y", "x", "dx"), _trapezoid,
                       _trapezoid_kind, _TRAPEZOID_EXAMPLES, name=f"numpy.{_func.__name__}",
                       jvp=_trapezoid_jvp)


def _polynomial(v: VJP) -> None:
    if v.ndim("p") not in (1, None):
        raise RuleUseError(f"{v.rule.name} is differentiated for 1-D coefficients `p`")


def _polyval(v: VJP) -> Contributions:
    _polynomial(v)
    slope = call("numpy.polyval", v.helper("polyder", v["p"]), v["x"])
    return {"p": v.helper("polyval_adjoint", v.g, v["p"], v["x"]), "x": mul(v.g, slope)}


def _polyval_jvp(j: JVP) -> Value:
    """Linear in ``p``; in ``x``, the derivative polynomial's value (``runtime.polyder``:
    differentiable again)."""
    _polynomial(j)
    return add(_differentiated_term(j, "p", lambda: call("numpy.polyval", j.t("p"), j["x"])),
               _differentiated_term(j, "x", lambda: mul(
                   j.t("x"), call("numpy.polyval", j.helper("polyder", j["p"]), j["x"]))))


add_array_rule(numpy.polyval, ("p", "x"), ("p", "x"), _polyval, lambda v: v.kind("x"),
               (E(((4,), ())), E(((3,), (5,))), E(((4,), (2, 3))), E(((1,), (3,))), E(((5,), (3,)))),
               required=2, name="numpy.polyval", jvp=_polyval_jvp)
add_array_rule(runtime.polyder, ("p",), ("p",),
               lambda v: {"p": v.helper("polyder_adjoint", v.g, v["p"])}, lambda v: array(1),
               (E(((4,),)), E(((2,),))), name="srcdiff.runtime.polyder", jvp="linear")


def _interp_check(v: VJP) -> None:
    """Refuses what the rules do not differentiate: sample points ``xp`` (or ``left`` and
    ``right``) that depend on the differentiated arguments, and ``period=``."""
    for name in ("xp", "left", "right"):
        if v.differentiated(name):
            raise RuleUseError(
                f"numpy.interp's {name} (`{ast.unparse(v.arguments[name])}`) depends on the "
                "differentiated arguments: srcdiff has no derivative rule for it (it "
                "differentiates x and fp, at sample points and end values that are constants)")
    if _given(v, "period"):
        raise RuleUseError("`period=` of numpy.interp is not supported")


def _interp_ends(v: VJP) -> tuple[Any, Any]:
    """``left`` and ``right`` (None: not given, the values at the ends)."""
    return (v["left"] if _given(v, "left") else None, v["right"] if _given(v, "right") else None)


def _interp(v: VJP) -> Contributions:
    """In ``x``, the slope of the segment ``x`` lies in (at a point of ``xp``, the segment
    to its right; at the last point, the last segment; 0 outside ``xp``). In ``fp``, the
    interpolation weights."""
    _interp_check(v)
    x, xp, fp = v["x"], v["xp"], v["fp"]
    return {"x": mul(v.g, v.helper("interp_slope", x, xp, fp)),
            "fp": v.helper("interp_adjoint", v.g, x, xp, fp, *_interp_ends(v))}


def _interp_jvp(j: JVP) -> Value:
    _interp_check(j)
    x, xp, fp = j["x"], j["xp"], j["fp"]
    # outside xp the value is fp[0] and fp[-1], or the constants left and right
    ends = {name: 0.0 for name in ("left", "right") if _given(j, name)}
    return add(_differentiated_term(j, "x", lambda: mul(j.t("x"), j.helper("interp_slope", x, xp, fp))),
               _differentiated_term(j, "fp", lambda: call("numpy.interp", x, xp, j.t("fp"), **ends)))


def _interp_slope_jvp(j: JVP) -> Value:  # linear in fp (piecewise constant in x)
    _interp_check(j)
    return j.helper("interp_slope", j["x"], j["xp"], j.t("fp"))


def _interp_slope(v: VJP) -> Contributions:
    _interp_check(v)
    return {"fp": v.helper("interp_slope_adjoint", v.g, v["x"], v["xp"], v["fp"])}


# x in [-2, 2]: within the sample points and on either side of them
_XP = [-1.0, -0.25, 0.5, 1.5]
_INTERP_EXAMPLES = (E(((5,), (4,)), inserted=((1, _XP),)), E(((), (4,)), inserted=((1, _XP),)),
                    E(((2, 3), (4,)), {"left": 0.5, "right": -1.0}, inserted=((1, _XP),)))
add_array_rule(numpy.interp, ("x", "xp", "fp", "left", "right", "period"),
               ("x", "xp", "fp", "left", "right"), _interp, lambda v: v.kind("x"),
               _INTERP_EXAMPLES, required=3, name="numpy.interp", jvp=_interp_jvp)
# (x is not differentiated: the slope is piecewise constant in it)
add_array_rule(runtime.interp_slope, ("x", "xp", "fp"), ("xp", "fp"), _interp_slope,
               lambda v: v.kind("x"), _INTERP_EXAMPLES[:2], required=3,
               name="srcdiff.runtime.interp_slope", jvp=_interp_slope_jvp)


def _nanmean(v: VJP) -> Contributions:
    """The mean of the elements that are not NaN: each gets the adjoint over their count
    along the reduced axes, a NaN none (a slice of NaN only is NaN, as NumPy gives it,
    and passes nothing back)."""
    _no_out(v)
    kept = call("numpy.logical_not", call("numpy.isnan", v["a"]))
    axis = v.const("axis")
    keep = {"axis": axis, "keepdims": True} if axis is not None else {}
    count = call("numpy.maximum", call("numpy.sum", kept, **keep, **_dtype_of(v, "a")), 1)
    return {"a": call("numpy.where", kept, div(v.expand(v.g), count), call("numpy.zeros_like", v["a"]))}


def _nanmean_jvp(j: JVP) -> Value:
    """The NaN-aware mean of the tangent, NaN where ``a`` is."""
    _no_out(j)
    masked = call("numpy.where", call("numpy.isnan", j["a"]), Code(_node_path("numpy.nan")), j.t("a"))
    return call("numpy.nanmean", masked, **_reduce_options(j))


add_array_rule(numpy.nanmean, _MEAN_PARAMS, ("a",), _nanmean, reduction_kind, _REDUCE_EXAMPLES,
               name="numpy.nanmean", jvp=_nanmean_jvp)


def _cov_options(v: VJP) -> tuple[bool, Any]:
    """``rowvar`` and the ``ddof`` that ``bias`` and ``ddof`` give; refuses ``y``, the
    weights and ``dtype``."""
    for name in ("y", "fweights", "aweights", "dtype"):
        if _given(v, name):
            raise RuleUseError(f"`{name}=` of numpy.cov is not supported" + (
                " (join the variables: numpy.cov(numpy.vstack([m, y])))" if name == "y" else ""))
    rank = v.ndim(v.rule.params[0])
    if rank is not None and rank > 2:
        raise RuleUseError(f"numpy.cov of an array of rank {rank}: NumPy raises ValueError")
    ddof = v.const("ddof")
    if ddof is None:
        ddof = 0 if v.const("bias", False) else 1
    return bool(v.const("rowvar", True)), ddof


def _cov(v: VJP) -> Contributions:
    rowvar, ddof = _cov_options(v)
    return {"m": v.helper("cov_adjoint", v.g, v["m"], rowvar, ddof)}


def _cov_kind(v: VJP) -> Kind:  # (a 2-D m of one variable also gives a number)
    return {1: SCALAR, 2: array(2)}.get(v.ndim(v.rule.params[0]), ANY_ARRAY)  # type: ignore[arg-type]  # get(None) gives the default


add_array_rule(numpy.cov, ("m", "y", "rowvar", "bias", "ddof", "fweights", "aweights", "dtype"),
               ("m", "y", "fweights", "aweights"), _cov, _cov_kind,
               (E(((2, 5),)), E(((5,),)), E(((5, 3),), {"rowvar": False}),
                E(((3, 4),), {"bias": True}), E(((3, 4),), {"ddof": 2})), name="numpy.cov",
               jvp=lambda j: j.helper("cov_tangent", j["m"], j.t("m"), *_cov_options(j)))
add_array_rule(runtime.cov_tangent, ("m", "tangent", "rowvar", "ddof"), ("m", "tangent"),
               lambda v: {"m": v.helper("cov_adjoint", v.g, v["tangent"], v["rowvar"], v["ddof"]),
                          "tangent": v.helper("cov_adjoint", v.g, v["m"], v["rowvar"], v["ddof"])},
               _cov_kind, (E(((2, 5), (2, 5)), literals=(True, 1)), E(((4,), (4,)), literals=(True, 0)),
                           E(((4, 2), (4, 2)), literals=(False, 1))),
               required=4, name="srcdiff.runtime.cov_tangent", jvp="multilinear")


def _exponent(v: VJP) -> int:
    n = v.const("n")
    if not isinstance(n, int) or isinstance(n, bool):
        raise RuleUseError("numpy.linalg.matrix_power needs `n` written as an integer")
    return n


def _matrix_power(v: VJP) -> Contributions:
    return {"a": v.helper("matrix_power_adjoint", v.g, v["a"], _exponent(v))}


def _matrix_power_jvp(j: JVP) -> Value:
    """``sum_k a^k t a^(n-1-k)``; for ``n < 0`` (powers of the inverse ``b``, whose
    tangent is ``-b t b``), ``-sum_k b^(k+1) t b^(m-k)``, ``m = -n``. Beyond four factors,
    the corner of the power of the block matrix ``[[a, t], [0, a]]``, which holds it."""
    n, a, t = _exponent(j), j["a"], j.t("a")
    if n == 0:
        return call("numpy.zeros_like", j.out)
    if abs(n) > 4:
        size = item(shape(a), ast.Constant(0))
        block = call("numpy.vstack", ast.List([
            _node(call("numpy.hstack", ast.List([a.node, _node(t)], ast.Load()))),
            _node(call("numpy.hstack", ast.List([_node(call("numpy.zeros_like", a)), a.node],
                                                ast.Load())))], ast.Load()))
        corner = ast.Tuple([ast.Slice(None, _node(size)), ast.Slice(_node(size), None)], ast.Load())
        return item(call("numpy.linalg.matrix_power", block, n), corner)

    def power(k: int) -> Value | None:  # a^k (None: the identity)
        return None if k == 0 else a if k == 1 else call("numpy.linalg.matrix_power", a, k)

    def between(left: Value | None, right: Value | None) -> Value:
        middle: Value = t if left is None else _matmul(left, t)
        return middle if right is None else _matmul(middle, right)
    if n > 0:
        terms = [between(power(k), power(n - 1 - k)) for k in range(n)]
    else:
        terms = [between(power(-(k + 1)), power(-(-n - k))) for k in range(-n)]
    total = terms[0]
    for term in terms[1:]:
        total = add(total, term)
    return total if n > 0 else neg(total)


add_array_rule(numpy.linalg.matrix_power, ("a", "n"), ("a",), _square_only(_matrix_power),
               lambda v: array(2),
               (E(((3, 3),), literals=(2,)), E(((3, 3),), literals=(3,)), E(((2, 2),), literals=(1,)),
                E(((3, 3),), literals=(0,)), E(((3, 3),), literals=(-2,), matrix=True),
                E(((3, 3),), literals=(5,)), E(((2, 2),), literals=(-5,), matrix=True)),
               required=2, name="numpy.linalg.matrix_power", jvp=_square_only(_matrix_power_jvp))


def _diagflat(v: VJP) -> Contributions:
    """The diagonal the elements were put on, read back (``k`` may be a variable)."""
    k = v["k"] if v.given("k") and not (isinstance(v.arguments["k"], ast.Constant)
                                        and v.arguments["k"].value == 0) else None
    diagonal = call("numpy.diagonal", v.g) if k is None else call("numpy.diagonal", v.g, k)
    return {"v": call("numpy.reshape", diagonal, shape(v["v"]))}


add_array_rule(numpy.diagflat, ("v", "k"), ("v",), _diagflat, lambda v: array(2),
               (E(((3,),)), E(((2, 2),)), E(((3,),), {"k": 1}), E(((2,),), {"k": -2}), E(((),))),
               name="numpy.diagflat", jvp="linear")


def _logspace(v: VJP) -> NoReturn:
    name = next(n for n in ("start", "stop", "base") if v.differentiated(n))
    raise RuleUseError(
        f"numpy.logspace's {name} (`{ast.unparse(v.arguments[name])}`) depends on the "
        "differentiated arguments: srcdiff has no derivative rule for it (its result would "
        "be taken for a constant); write the values from an integer range: base ** (start "
        "+ (stop - start) / (num - 1) * numpy.arange(num))")


# A creation function, as numpy.linspace: a constant, refused (no examples) where its
# values depend on the differentiated arguments
add_array_rule(numpy.logspace, ("start", "stop", "num", "endpoint", "base", "dtype", "axis"),
               ("start", "stop", "base"), _logspace,
               lambda v: _rank(max(v.ndim("start") or 0, v.ndim("stop") or 0) + 1), (), required=2,
               name="numpy.logspace", jvp=_logspace)


# --- sort, ptp, append, and the norms of other orders -----------------------------------------
# Functions new users call in ordinary code (they were refused: no derivative rule).
def _sort_axis(v: VJP) -> int | None:
    """The axis ``numpy.sort`` sorts along (None: the array flattened); refuses
    ``order=``, which sorts the fields of a structured array."""
    if _given(v, "order"):
        raise RuleUseError("`order=` of numpy.sort (the fields of a structured array) is "
                           "not supported")
    axis = v.const("axis", -1)
    if axis is not None and (not isinstance(axis, int) or isinstance(axis, bool)):
        raise RuleUseError("numpy.sort is differentiated along one axis (an integer) or all "
                           "of them (axis=None)")
    if axis is not None and v.ndim("a") is None:
        raise RuleUseError("numpy.sort along an axis of an array of unknown rank")
    if axis is not None and v.ndim("a") == 0:
        raise RuleUseError("numpy.sort of a number along an axis (NumPy raises AxisError)")
    return axis


def _sorting(v: VJP, axis: int | None) -> Code:
    """The permutation that sorts ``a`` (``a`` flattened for axis None), stable: equal
    elements keep their order, so each is given the position a stable sort gives it
    (``kind=`` aside: every kind gives the same values)."""
    return call("numpy.argsort", v["a"], axis=axis, kind="stable")


def _sort(v: VJP) -> Contributions:
    """Each element's adjoint is the adjoint of the position it was sorted to: ``g``
    read through the inverse permutation."""
    axis = _sort_axis(v)
    inverse = call("numpy.argsort", _sorting(v, axis), axis=-1 if axis is None else axis)
    if axis is None:
        return {"a": call("numpy.reshape", item(v.g, inverse), shape(v["a"]))}
    if v.ndim("a") == 1:
        return {"a": item(v.g, inverse)}
    return {"a": call("numpy.take_along_axis", v.g, inverse, axis=axis)}


def _sort_jvp(j: JVP) -> Value:
    """The tangent sorted as ``a`` is, by indexing alone (code hvp and grad(grad(f))
    differentiate again): along an axis of an array of rank r, with the other axes'
    positions as ``numpy.arange`` columns broadcast against the permutation."""
    axis = _sort_axis(j)
    order = _sorting(j, axis)
    if axis is None:
        return item(call("numpy.ravel", j.t("a")), order)
    rank = cast(int, j.ndim("a"))
    if rank == 1:
        return item(j.t("a"), order)
    axis %= rank
    parts: list[ast.expr] = []
    for d in range(rank):
        if d == axis:
            parts.append(_node(order))
            continue
        size = item(shape(j["a"]), ast.Constant(d))
        column = tuple(-1 if e == d else 1 for e in range(rank))
        parts.append(_node(call("numpy.reshape", call("numpy.arange", size), column)))
    return item(j.t("a"), ast.Tuple(parts, ast.Load()))


add_array_rule(numpy.sort, ("a", "axis", "kind", "order", "stable"), ("a",), _sort,
               lambda v: array(1) if v.given("axis") and v.const("axis", -1) is None
               else v.kind("a"),
               (E(((5,),)), E(((3, 4),)), E(((3, 4),), {"axis": 0}), E(((2, 3, 4),), {"axis": 1}),
                E(((3, 4),), {"axis": None}), E(((4,),), {"kind": "mergesort"}),
                E(((2, 3, 2),), {"axis": -3})),
               name="numpy.sort", jvp=_sort_jvp)


def _extremes(v: VJP) -> list[tuple[Code, Value]]:
    """``numpy.ptp``'s two ends, the maximum and the minimum: the elements equal to each,
    and how many of them there are (as numpy.max and numpy.min count their ties, which
    share the derivative equally), in ``a``'s dtype."""
    _no_out(v)
    axis = v.const("axis")
    keep = {"axis": axis, "keepdims": True} if axis is not None else {}
    ends = []
    for reduce in ("numpy.max", "numpy.min"):
        end = call(reduce, v["a"], **keep)
        chosen = Code(ast.Compare(v["a"].node, [ast.Eq()], [_node(end)]))
        if isinstance(v, JVP):  # counted in the result's dtype (no .dtype in forward code)
            ties: Value = call("numpy.full_like", v.out, v.reduce(chosen))
        else:
            ties = call("numpy.sum", chosen, **keep, **_dtype_of(v, "a"))
        ends.append((chosen, ties))
    return ends


def _ptp(v: VJP) -> Contributions:
    """max - min: the maximum's share of the adjoint minus the minimum's (ties share, as
    for numpy.max; where every element is equal, the range is 0 and so is the derivative)."""
    (top, top_ties), (bottom, bottom_ties) = _extremes(v)
    return {"a": mul(v.expand(v.g), div(top, top_ties) - div(bottom, bottom_ties))}


def _ptp_jvp(j: JVP) -> Value:
    (top, top_ties), (bottom, bottom_ties) = _extremes(j)
    return div(j.reduce(mul(top, j.t("a"))), top_ties) - div(j.reduce(mul(bottom, j.t("a"))), bottom_ties)


add_array_rule(numpy.ptp, ("a", "axis", "out", "keepdims"), ("a",), _ptp, reduction_kind,
               _REDUCE_EXAMPLES, name="numpy.ptp", jvp=_ptp_jvp)


def _append(v: VJP) -> Contributions:
    """``numpy.concatenate([arr, values], axis)``, both flattened first for axis None (as
    NumPy defines it): each gets its piece of the adjoint, in its own shape."""
    axis = v.const("axis")
    parts = ast.List([v.arguments["arr"], v.arguments["values"]], ast.Load())
    promote = Code(_node_path("numpy.ravel" if axis is None else "numpy.asarray"))
    return {name: v.helper("piece", v.g, parts, i, 0 if axis is None else axis, promote)
            for i, name in enumerate(("arr", "values"))}


def _append_kind(v: VJP) -> Kind:
    if v.const("axis") is None:
        return array(1)
    return v.kind("arr") if v.kind("arr").is_array else v.kind("values")


add_array_rule(numpy.append, ("arr", "values", "axis"), ("arr", "values"), _append, _append_kind,
               (E(((3,), (2,))), E(((2, 3), (4,))), E(((3,), ())), E(((), (2, 2)))
                , E(((2, 3), (1, 3)), {"axis": 0}), E(((2, 3), (2, 2)), {"axis": 1}),
                E(((2, 2, 1), (2, 2, 3)), {"axis": -1})),
               required=2, name="numpy.append", jvp="linear")


def _norm_order(v: VJP) -> Any:
    """The order of a vector norm other than the Euclidean one: a number, ``math.inf``,
    ``-math.inf``, or the code of an order computed where the function runs
    (``ord=-np.inf``); None for the Euclidean and Frobenius norms, which share a rule.
    Refuses the other matrix norms, naming the order."""
    node = v.arguments.get("ord")
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return None
    axis = v.const("axis")
    if isinstance(axis, tuple) and len(axis) == 1:
        axis = axis[0]
    ndim = v.ndim("x")
    order = _order_written(v, node)
    text = f"computed as `{ast.unparse(node)}`" if isinstance(order, Code) else repr(order)
    if (isinstance(axis, tuple) and len(axis) == 2) or (axis is None and ndim == 2):
        if isinstance(order, str) and order == "fro":
            return None
        raise RuleUseError(f"numpy.linalg.norm of a matrix is differentiated for the Frobenius "
                           f"norm (ord=None or 'fro'), not ord={text}")
    if not (isinstance(axis, int) or (axis is None and ndim == 1)):
        rank = "unknown rank" if ndim is None else f"rank {ndim}"
        raise RuleUseError(f"numpy.linalg.norm with ord={text} of an array of {rank}: give the "
                           "axis of the vectors (axis=k) or of the matrices (axis=(j, k))")
    if isinstance(order, str) or isinstance(order, bool):
        raise RuleUseError(f"numpy.linalg.norm of vectors with ord={text} (NumPy raises: "
                           "vector norms take a number)")
    if not isinstance(order, Code) and order == 2:
        return None
    return order


def _order_written(v: VJP, node: ast.expr) -> Any:
    """The ``ord=`` a norm is given: ``math.inf`` for ``np.inf``, ``numpy.inf`` and
    ``math.inf``, the code of an order computed where the function runs (``-np.inf``,
    ``float("inf")``, a variable), else the constant written."""
    if isinstance(node, ast.Attribute) and node.attr == "inf" and isinstance(node.value, ast.Name) \
            and node.value.id in ("np", "numpy", "math"):
        return math.inf
    if isinstance(node, ast.Name):
        return Code(node)
    return v.const("ord")


def _norm_terms(v: VJP, order: Any) -> tuple[Value, Value | None]:
    """A vector norm's derivative in ``x``, as a factor of ``x``'s shape and, for the
    maximum and minimum of ``|x|`` (ord=inf, -inf), the number of elements reaching it
    (ties share the derivative, as numpy.max's; None otherwise):

    * ord=0, the number of nonzero elements: 0 (piecewise constant);
    * ord=1: ``sign(x)``, 0 where an element is 0 (abs's derivative there);
    * ord=inf and -inf: ``sign(x)`` at the elements whose ``|x|`` is the result, shared
      among them (0 for an element at 0, as abs's derivative there);
    * any other p, ``(sum |x|^p)^(1/p)``: ``sign(x) (|x| / norm)^(p - 1)``, 0 where an
      element is 0 (p < 1 included, where |x|^(p-1) is infinite);
    * an order computed where the function runs: the ±inf case where it is infinite, else
      the p case (0 for p = 0), chosen then (a conditional expression).
    """
    x, out = v["x"], v.expand(v.out)
    sign_ = call("numpy.sign", x)
    magnitude = call("numpy.abs", x)
    chosen = Code(ast.Compare(_node(magnitude), [ast.Eq()], [_node(out)]))

    def general(p: Value) -> Value:
        safe = call("numpy.where", Code(ast.Compare(x.node, [ast.Eq()], [ast.Constant(0)])), 1, magnitude)
        return mul(sign_, div(safe, out) ** (p - 1))

    def extreme() -> Value:
        return mul(chosen, sign_)
    if isinstance(order, Code):
        not_zero = Code(ast.Compare(order.node, [ast.NotEq()], [ast.Constant(0)]))
        return Code(ast.IfExp(_node(call("numpy.isinf", order)), _node(extreme()),
                              _node(mul(general(order), not_zero)))), chosen
    if order == 0:
        return call("numpy.zeros_like", x), None
    if order == 1:
        return sign_, None
    if math.isinf(order):
        return extreme(), chosen
    return general(order), None


def _norm_slope(v: VJP, order: Any) -> Value:
    slope, chosen = _norm_terms(v, order)
    if chosen is None:
        return slope
    axis = v.const("axis")
    keep = {"axis": axis, "keepdims": True} if axis is not None else {}
    ties = call("numpy.sum", chosen, **keep, **_dtype_of(v, "x"))
    if isinstance(order, Code):  # (a finite order: no ties to count)
        ties = Code(ast.IfExp(_node(call("numpy.isinf", order)), _node(ties), ast.Constant(1)))
    return div(slope, ties)


def _norm_tangent(j: JVP, order: Any) -> Value:
    slope, chosen = _norm_terms(j, order)
    tangent = j.reduce(mul(slope, j.t("x")))
    if chosen is None:
        return tangent
    ties: Value = call("numpy.full_like", j.out, j.reduce(chosen))  # in the result's dtype
    if isinstance(order, Code):
        ties = Code(ast.IfExp(_node(call("numpy.isinf", order)), _node(ties), ast.Constant(1)))
    return div(tangent, ties)




# --- NumPy 2's names: new spellings of the rules above -----------------------------------------
# Each exists in NumPy 2 only (the rule is registered where NumPy has the function).
def _vector_order(v: VJP) -> Any:
    """``numpy.linalg.vector_norm``'s ``ord=`` (None: 2, the Euclidean norm): a vector norm
    whatever the rank, over the axes given, or over every element (flattened)."""
    node = v.arguments.get("ord")
    if node is None:
        return None
    order = _order_written(v, node)
    if isinstance(order, (str, bool)) or order is None:
        raise RuleUseError(f"numpy.linalg.vector_norm takes a number `ord`, not {order!r} "
                           "(for a matrix norm: numpy.linalg.matrix_norm)")
    if not isinstance(order, Code) and order == 2:
        return None
    return order


def _vector_norm(v: VJP) -> Contributions:
    return _norm_adjoint(v, _vector_order(v))


def _vector_norm_jvp(j: JVP) -> Value:
    return _norm_tangent_of(j, _vector_order(j))


def _matrix_transpose(v: VJP) -> Contributions:
    _known_rank(v, "x", 2)
    return {"x": call("numpy.swapaxes", v.g, -1, -2)}


def _matrix_transpose_jvp(j: JVP) -> Value:
    _known_rank(j, "x", 2)
    return call("numpy.swapaxes", j.t("x"), -1, -2)


def _vecdot_axis(v: VJP) -> int:
    """The axis of the vectors, counted from the last (NumPy counts a non-negative one in
    each array: the same axis only where both have the same rank). Refuses ``out=``."""
    if _given(v, "out"):
        raise RuleUseError(f"`out=` of {v.rule.name} is not supported")
    ranks = [_known_rank(v, name) for name in ("x1", "x2")]
    axis = v.const("axis", -1)
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise RuleUseError(f"{v.rule.name} needs `axis` written as an integer")
    if axis >= 0:
        if ranks[0] is None or ranks[0] != ranks[1]:
            raise RuleUseError(f"{v.rule.name} with axis={axis} of arrays of different or "
                               "unknown ranks is not supported: count the axis from the "
                               "last (axis=-1, -2...)")
        axis -= ranks[0]
    return axis


def _vecdot(v: VJP) -> Contributions:
    """``sum(x1 * x2, axis)``: each array's adjoint is the other times the result's
    adjoint put back along the axis, summed to its shape where it was broadcast."""
    axis = _vecdot_axis(v)
    g = v.g if _vecdot_kind(v) == SCALAR else call("numpy.expand_dims", v.g, axis)
    return {"x1": v.helper("unbroadcast", mul(g, v["x2"]), v["x1"]),
            "x2": v.helper("unbroadcast", mul(g, v["x1"]), v["x2"])}


def _vecdot_jvp(j: JVP) -> Value:
    axis = _vecdot_axis(j)
    name = j.rule.name
    return add(_differentiated_term(j, "x1", lambda: call(name, j.t("x1"), j["x2"], axis=axis)),
               _differentiated_term(j, "x2", lambda: call(name, j["x1"], j.t("x2"), axis=axis)))


def _vecdot_kind(v: VJP) -> Kind:
    ranks = (v.ndim("x1"), v.ndim("x2"))
    if None in ranks:
        return ANY_ARRAY
    return _rank(max(cast("tuple[int, int]", ranks)) - 1)


def _cumulative_options(v: VJP) -> tuple[int | None, bool]:
    """``axis`` (needed beyond one axis, as NumPy says) and ``include_initial``; refuses
    ``out=`` and ``dtype=``."""
    _no_out(v)
    axis = v.const("axis")
    if axis is None and (v.ndim("x") or 0) > 1:
        raise RuleUseError("numpy.cumulative_sum of an array of more than one axis needs "
                           "`axis` (NumPy raises ValueError)")
    if axis is None and v.ndim("x") is None:
        raise RuleUseError("numpy.cumulative_sum without `axis` of an array of unknown rank")
    return axis, bool(v.const("include_initial", False))


def _cumulative_sum(v: VJP) -> Contributions:
    """``cumsum``'s adjoint, the adjoint summed from the end; with ``include_initial``
    the result's first element (a zero) depends on nothing: its adjoint is left out."""
    axis, initial = _cumulative_options(v)
    g: Value = v.g
    if initial:
        g = call("numpy.delete", g, 0, axis=-1 if axis is None else axis)
    if axis is None:
        backwards = item(call("numpy.cumsum", item(g, ast.Slice(None, None, ast.Constant(-1)))),
                         ast.Slice(None, None, ast.Constant(-1)))
        return {"x": call("numpy.reshape", backwards, shape(v["x"]))}
    return {"x": call("numpy.flip", call("numpy.cumsum", call("numpy.flip", g, axis), axis), axis)}


def _cumulative_sum_jvp(j: JVP) -> Value:
    axis, initial = _cumulative_options(j)
    options: dict[str, Any] = {} if axis is None else {"axis": axis}
    if initial:
        options["include_initial"] = True
    return call("numpy.cumulative_sum", j.t("x"), **options)


def _nan_to_num_options(v: VJP) -> None:
    """``copy=False`` writes into ``x``: refused. The values put at nan, inf and -inf
    must be constants (they take no derivative)."""
    if v.given("copy") and v.const("copy") is not True:
        raise RuleUseError("numpy.nan_to_num with `copy=False` changes its argument in "
                           "place: not supported (assign the result of copy=True)")
    for name in ("nan", "posinf", "neginf"):
        if v.differentiated(name):
            raise RuleUseError(f"numpy.nan_to_num's {name} (`{ast.unparse(v.arguments[name])}`) "
                               "depends on the differentiated arguments: srcdiff has no "
                               "derivative rule for it (write it as a constant)")


def _finite(v: VJP) -> Code:
    """Where ``x`` is finite: there nan_to_num is the identity, elsewhere a constant."""
    return call("numpy.isfinite", v["x"])


def _nan_to_num(v: VJP) -> Contributions:
    # (selected, not multiplied by the mask: an adjoint of 1 times the boolean would be
    # folded to the boolean itself, and booleans add as `or`: True + True is True; a
    # Hessian of nan_to_num(x * x) at a number was 1, not 2)
    _nan_to_num_options(v)
    return {"x": call("numpy.where", _finite(v), v.g, 0.0)}


def _nan_to_num_jvp(j: JVP) -> Value:
    _nan_to_num_options(j)
    return call("numpy.where", _finite(j), j.t("x"), 0.0)


# (nan, posinf and neginf among the differentiable arguments, so that one depending on
# the differentiated ones is seen, and refused, as numpy.interp's xp is)
add_array_rule(numpy.nan_to_num, ("x", "copy", "nan", "posinf", "neginf"),
               ("x", "nan", "posinf", "neginf"), _nan_to_num,
               same_kind, (E(((3,),)), E(((2, 3),)), E(((),)),
                           E(((3,),), {"nan": 1.5, "posinf": 3.0, "neginf": -3.0})),
               name="numpy.nan_to_num", shaped=False, jvp=_nan_to_num_jvp)


_VECTOR_NORM_EXAMPLES = (E(((3,),)), E(((2, 3),)), E(((2, 3),), {"ord": 1}),
                         E(((2, 3),), {"axis": 1}), E(((2, 3, 2),), {"axis": (0, 2), "ord": 3}),
                         E(((3, 4),), {"axis": -1, "keepdims": True, "ord": _Written("numpy.inf")}),
                         E(((4,),), {"ord": 0.5}), E(((4,),), {"ord": _Written("-numpy.inf")}),
                         E(((2, 3),), {"axis": 0, "ord": 0}), E(((2, 3),), {"ord": -1.5}))
if hasattr(numpy.linalg, "vector_norm"):
    add_array_rule(numpy.linalg.vector_norm, ("x", "axis", "keepdims", "ord"), ("x",),
                   _vector_norm, _norm_kind, _VECTOR_NORM_EXAMPLES,
                   name="numpy.linalg.vector_norm", jvp=_vector_norm_jvp)
for _module in ("numpy", "numpy.linalg"):  # two functions of the same name
    _func = getattr(numpy if _module == "numpy" else numpy.linalg, "matrix_transpose", None)
    if _func is not None:
        add_array_rule(_func, ("x",), ("x",), _matrix_transpose, lambda v: v.kind("x"),
                       (E(((2, 3),)), E(((2, 3, 4),))), name=f"{_module}.matrix_transpose",
                       jvp=_matrix_transpose_jvp)
_VECDOT_EXAMPLES = (E(((3,), (3,))), E(((2, 3), (3,))), E(((2, 3), (2, 3)), {"axis": 0}),
                    E(((4, 2, 3), (2, 3)), {"axis": -2}), E(((2, 1, 3), (4, 3))))
if isinstance(getattr(numpy, "vecdot", None), numpy.ufunc):  # its third operand is `out`
    add_array_rule(numpy.vecdot, ("x1", "x2", "out", "axis"), ("x1", "x2"), _vecdot,
                   _vecdot_kind, _VECDOT_EXAMPLES, required=2, name="numpy.vecdot",
                   jvp=_vecdot_jvp)
if hasattr(numpy.linalg, "vecdot"):
    add_array_rule(numpy.linalg.vecdot, ("x1", "x2", "axis"), ("x1", "x2"), _vecdot,
                   _vecdot_kind, _VECDOT_EXAMPLES, required=2, name="numpy.linalg.vecdot",
                   jvp=_vecdot_jvp)
if hasattr(numpy, "cumulative_sum"):
    add_array_rule(numpy.cumulative_sum, ("x", "axis", "dtype", "out", "include_initial"),
                   ("x",), _cumulative_sum,
                   lambda v: array(1) if v.const("axis") is None else v.kind("x"),
                   (E(((5,),)), E(((5,),), {"include_initial": True}), E(((3, 4),), {"axis": 1}),
                    E(((3, 4),), {"axis": 0, "include_initial": True}),
                    E(((2, 3, 2),), {"axis": -2}), E(((),))),
                   name="numpy.cumulative_sum", jvp=_cumulative_sum_jvp)


# --- forward mode ----------------------------------------------------------------------------
# The tangent of y = f(a, ...) given the tangents of its differentiable arguments. Linear
# functions (reductions by sums, reshapes, views, copies, indexing, item assignment, joins)
# are applied to the tangents; products are summed over their arguments, each replaced
# by its tangent in turn; the others have their tangent written below.
def _prod_jvp(j: JVP) -> Value:
    _no_out(j, ("where", "initial"))  # as the vector-Jacobian rule: the input must have no zeros
    where = {"where": j["where"]} if _mask(j) is not None else {}
    tangent = mul(call("numpy.sum", div(j.t("a"), j["a"]), **_reduce_options(j), **where), j.out)
    if _initial(j) is not None and j.differentiated("initial"):
        product = call("numpy.prod", j["a"], **_reduce_options(j), **where)
        tangent = add(tangent, mul(j.t("initial"), product))
    return tangent


def _extremum_jvp(j: JVP) -> Value:
    _no_out(j, ("where", "initial"))  # ties share the tangent equally, as the adjoint
    chosen, initial_shares = _chosen(j)
    ties: Value = call("numpy.full_like", j.out, j.reduce(chosen))  # counted in the result's dtype
    tangent: Value = j.reduce(mul(chosen, j.t("a")))
    if initial_shares:
        ties = add(ties, _is_result(j, j.out))
        tangent = add(tangent, mul(_is_result(j, j.out), j.t("initial")))
    if _initial(j) is not None:
        ties = call("numpy.maximum", ties, 1)
    return div(tangent, ties)


def _var_jvp(j: JVP) -> Value:
    _no_out(j)
    centred, count = _centred(j)
    return div(j.reduce(mul(mul(2, centred), j.t("a"))), count)


def _std_jvp(j: JVP) -> Value:
    _no_out(j)
    centred, count = _centred(j)
    return div(j.reduce(mul(centred, j.t("a"))), mul(count, j.out))


def _norm_jvp(j: JVP) -> Value:
    return _norm_tangent_of(j, _norm_order(j))


def _inv_jvp(j: JVP) -> Value:
    return neg(_matmul(_matmul(j.out, j.t("a")), j.out))


def _det_jvp(j: JVP) -> Value:
    return call("numpy.sum", mul(j.helper("cofactor", j["a"], j.out), j.t("a")))


def _solve_jvp(j: JVP) -> Value:
    return call("numpy.linalg.solve", j["a"], j.t("b") - _matmul(j.t("a"), j.out))


_ARRAY_RULES_OF: dict[int, list[ArrayRule]] = {}  # id of a callable -> its array rules
for (_func, _arity), _rule in RULES.rules.items():
    if isinstance(_rule, ArrayRule):
        _ARRAY_RULES_OF.setdefault(id(_func), []).append(_rule)


def _forward(how: object, *funcs: Callable[..., Any]) -> None:
    for func in funcs:
        for rule in _ARRAY_RULES_OF.get(id(func), ()):
            object.__setattr__(rule, "jvp", how)


_forward("linear", numpy.sum, numpy.mean, numpy.cumsum, numpy.trace, numpy.diag, numpy.reshape,
         numpy.ravel, numpy.squeeze, numpy.expand_dims, numpy.atleast_1d, numpy.atleast_2d,
         numpy.transpose, numpy.swapaxes, numpy.broadcast_to, numpy.copy, numpy.asarray,
         numpy.flip, numpy.flipud, numpy.fliplr, numpy.concatenate, numpy.stack, numpy.hstack, numpy.vstack, numpy.array,
         getitem, runtime.set_item, runtime.broadcast_like, runtime.tangent_like,
         runtime.copy_of)
_forward("multilinear", numpy.dot, numpy.matmul, operator.matmul, numpy.outer, numpy.inner,
         numpy.cross, numpy.einsum, numpy.tensordot)
_forward(lambda j: call("numpy.sum", j.t("a")), runtime.item_of)  # item of a size-1 tangent
_forward(_prod_jvp, numpy.prod)
_forward(_extremum_jvp, numpy.max, numpy.min, numpy.amax, numpy.amin)
_forward(_var_jvp, numpy.var)
_forward(_std_jvp, numpy.std)
_forward(_norm_jvp, numpy.linalg.norm)
_forward(_square_only(_inv_jvp), numpy.linalg.inv)
_forward(_square_only(_det_jvp), numpy.linalg.det)
_forward(_square_only(_solve_jvp), numpy.linalg.solve)
del _func, _arity, _rule


def helper_name(function: Function, name: str) -> str:
    """The name generated code calls the runtime helper ``name`` by: chosen once per
    function (clashing with none of its names) and put in its closure."""
    import types
    from . import runtime
    parsed = function.parsed
    for existing, origin in parsed.origins.items():
        if origin == ("helper", name):
            return existing
    fresh = function.namer.fresh(name)
    parsed.inject(fresh, types.CellType(getattr(runtime, name)), ("helper", name))
    return fresh


def index_value(index: ast.expr) -> ast.expr:
    """An index as a value to pass around: slices need ``numpy.s_[...]``."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    if any(isinstance(p, ast.Slice) for p in parts):
        from .expr import dotted
        node = ast.Subscript(dotted("numpy.s_"), index, ast.Load())
        return ast.copy_location(node, index)
    return index


# Views: results that share memory with their first argument (item assignment to either
# one would change the other in Python, which generated code does not reproduce).
VIEWS = {numpy.reshape, numpy.ravel, numpy.squeeze, numpy.expand_dims, numpy.transpose,
         numpy.swapaxes, numpy.broadcast_to, numpy.asarray, numpy.atleast_1d,
         numpy.atleast_2d, numpy.flip, numpy.flipud, numpy.fliplr, numpy.diag, getitem,
         numpy.moveaxis, numpy.diagonal,
         numpy.atleast_3d, runtime.broadcast_like, numpy.float64,
         numpy.linalg.matrix_power,  # (its argument itself for n=1)
         *[f for f in (getattr(numpy, "matrix_transpose", None),
                       getattr(numpy.linalg, "matrix_transpose", None)) if f is not None]}
