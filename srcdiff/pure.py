"""Calls without a derivative rule on constants: the allow-list of pure functions.

A call to a function the rule table does not know (``numpy.sort``, ``math.lgamma``) is
accepted when none of its arguments depends on the differentiated arguments: its result
is then a constant, whose derivative is exactly zero, so taking it for one can never give
a wrong gradient. The fence accepts the call (``Fence.check_callee``); ``analyse``
refuses it, where it is written, when an argument turns out to depend on the
differentiated ones (``analyse.check_constant_calls``).

Only functions known to be *pure* qualify: no side effects, no change to their
arguments, the same result for the same arguments. The optimiser may evaluate such a
call fewer times than the program does (common subexpressions), and the backward sweep
more (checkpoints recompute loop iterations), which is harmless for them and wrong for
random numbers, I/O, clocks or functions that write into an array (``numpy.copyto``,
``numpy.fill_diagonal``, ``numpy.put``, ``numpy.random``): those stay refused. It is an
allow-list, not a deny-list:

* the functions of ``math`` (but ``frexp`` and ``modf``, which return tuples, and
  ``sumprod``, which returns an int for ints where the gradient code expects a float);
* NumPy's ufuncs (``numpy.gcd``), and ``scipy.special``'s (``gammaln``) where SciPy is
  imported, of one result that is real for real operands, called without ``out`` or
  ``where`` (a ufunc's ``where`` leaves the other elements uninitialised);
* ``NUMPY_FUNCTIONS`` below, a reviewed list: each returns new arrays (never an argument
  or a view of one, but ``histogram``'s edges, which are its ``bins`` when given an
  array: ``SHARING_NAMES`` says so to the alias analysis), real for real arguments, and
  changes nothing (``out=`` and ``overwrite_input=True`` are refused).

Never methods (``x.sort()`` sorts in place): the fence knows methods by name.

What a call gives, a number or an array of some rank (``srcdiff.kinds``), matters for
the code generated around it. ``result_kind`` is conservative: a number only where the
function always returns one for those argument kinds (``math``; a reduction over all
elements, ``numpy.percentile(y, 50)``), an array of a known rank where NumPy says so
(``numpy.sort(y)`` has ``y``'s), otherwise an array of unknown rank, which generated code
handles whatever the rank is.

>>> import math
>>> is_pure(math.lgamma), is_pure(math.frexp), is_pure(print)
(True, False, False)
"""

from __future__ import annotations

import ast
import inspect
import math
import sys
from typing import Any, Callable

from .kinds import ANY_ARRAY, SCALAR, Kind, array

# math's functions that return tuples (frexp, modf) or an int for ints (sumprod: the
# gradient code takes math's other functions for floats, ``reverse._NOT_FLOAT_MATH``)
_MATH_LEFT_OUT = {"frexp", "modf", "sumprod"}

# Pure NumPy functions people call on data, by module and name. Reviewed one by one:
# each returns new arrays (or numbers), real for real arguments, and changes nothing.
# Functions with a derivative rule are not here (the rule decides: linalg.vector_norm,
# linalg.vecdot, cumulative_sum), but for the reviewed ones listed before they had one.
# Left out on purpose: functions returning views (real, imag, diagonal,
# linalg.diagonal; matrix_transpose has a rule, and the alias analysis knows it is a
# view) or an argument itself (linalg.matrix_power for n=1), complex results (fft.fft, rfft, ifft..., linalg.eig, eigvals), lists
# (gradient, meshgrid), and anything that writes (copyto, fill_diagonal, put, place,
# nan_to_num with copy=False, random).
NUMPY_FUNCTIONS = {
    "numpy": (
        "sort", "partition", "argpartition", "lexsort", "unique", "searchsorted",
        "digitize", "bincount", "histogram", "histogram_bin_edges", "percentile",
        "quantile", "nanpercentile", "nanquantile", "nanmedian", "nanmean", "nanstd",
        "nanvar", "nanmax", "nanmin", "nanargmax", "nanargmin", "nanprod", "nancumsum",
        "nancumprod", "average", "ptp", "interp", "polyfit", "polyval", "vander", "cov",
        "corrcoef", "trapezoid", "trapz", "correlate", "flatnonzero", "argwhere", "isin",
        "setdiff1d", "intersect1d", "union1d", "array_equal",
        # NumPy's scalar types, called as casts (numpy.float64 has a rule: a float)
        "float32", "float16", "int8", "int16", "int32", "int64", "uint8", "uint16",
        "uint32", "uint64", "bool_"),
    "numpy.linalg": (
        "cond", "matrix_rank", "multi_dot", "svd", "svdvals", "qr", "lstsq", "tensorinv",
        "tensorsolve", "matrix_norm", "cross", "outer", "tensordot", "trace"),
    "numpy.fft": (
        "irfft", "irfft2", "irfftn", "hfft", "fftfreq", "rfftfreq", "fftshift",
        "ifftshift"),
}
# Those whose result may be (part of) an argument: histogram's and histogram_bin_edges'
# edges are the ``bins`` array given (``analyse.check_sharing`` joins them).
SHARING_NAMES = ("histogram", "histogram_bin_edges")

# Parameters whose use changes an array: refused unless given this constant.
_WRITING = {"out": None, "overwrite_input": False}

_found: dict[str, dict[int, tuple[str, Any]]] = {}  # "numpy" -> {id: (name, callee)}


def _numpy_functions() -> dict[int, tuple[str, Any]]:
    """The allow-listed NumPy functions present in this NumPy, by id (NumPy is looked at
    only once the program has imported it: scalar code never imports it)."""
    if "numpy" not in _found:
        import numpy
        table: dict[int, tuple[str, Any]] = {}
        for module_name, names in NUMPY_FUNCTIONS.items():
            module = numpy if module_name == "numpy" else getattr(numpy, module_name.split(".")[1])
            for name in names:
                func = getattr(module, name, None)
                if func is not None:
                    table[id(func)] = (f"{module_name}.{name}", func)
        _found["numpy"] = table
    return _found["numpy"]


def _ufunc_name(callee: object) -> str | None:
    """``numpy.<name>`` or ``scipy.special.<name>`` for a ufunc of those modules, else
    None (a ufunc made by ``numpy.frompyfunc`` may run any Python)."""
    numpy = sys.modules.get("numpy")
    if numpy is None or not isinstance(callee, numpy.ufunc):
        return None
    name = callee.__name__
    if getattr(numpy, name, None) is callee:
        return f"numpy.{name}"
    special = sys.modules.get("scipy.special")
    if special is not None and getattr(special, name, None) is callee:
        return f"scipy.special.{name}"
    return None


def _real_ufunc(ufunc: Any) -> bool:
    """One result, real wherever the operands are: the loop NumPy picks for float, int
    and bool operands (the first they cast to safely) gives no complex number
    (``scipy.special.hankel1`` of real numbers is complex; srcdiff has no complex
    numbers)."""
    if ufunc.nout != 1:
        return False
    import numpy
    for operand in "dl?":
        for loop in ufunc.types:
            inputs, _, outputs = loop.partition("->")
            if "O" not in inputs and all(numpy.can_cast(operand, t, "safe") for t in inputs):
                if any(t in "FDG" for t in outputs):
                    return False
                break
    return True


def name_of(callee: object) -> str:
    """The name a message gives a pure function (``scipy.special.gammaln``)."""
    ufunc = _ufunc_name(callee)
    if ufunc is not None:
        return ufunc
    if "numpy" in sys.modules:
        found = _numpy_functions().get(id(callee))
        if found is not None and found[1] is callee:
            return str(found[0])
    module = getattr(callee, "__module__", None)
    return f"{module}.{getattr(callee, '__name__', callee)}" if module else repr(callee)


def is_pure(callee: object) -> bool:
    """Whether ``callee`` is on the allow-list: a call of it on constants is a constant."""
    if getattr(callee, "__module__", None) == "math":
        name = getattr(callee, "__name__", "")
        return getattr(math, name, None) is callee and name not in _MATH_LEFT_OUT
    if "numpy" not in sys.modules:
        return False
    known = _verdicts.get(id(callee))
    if known is not None and known[0] is callee:
        return known[1]
    if _ufunc_name(callee) is not None:
        verdict = _real_ufunc(callee)
    else:
        found = _numpy_functions().get(id(callee))
        verdict = found is not None and found[1] is callee
    if verdict or _ufunc_name(callee) is not None:  # (others may be made and dropped)
        _verdicts[id(callee)] = (callee, verdict)
    return verdict


_verdicts: dict[int, tuple[object, bool]] = {}  # id -> (the callee, its verdict)


def sharing(callee: object) -> bool:
    """Whether a call's result may be (or hold) one of its array arguments."""
    if "numpy" not in sys.modules:
        return False
    found = _numpy_functions().get(id(callee))
    return found is not None and found[1] is callee and \
        found[0] in tuple(f"numpy.{n}" for n in SHARING_NAMES)


def refused_argument(callee: object, call: ast.Call) -> tuple[ast.AST, str, str] | None:
    """What the fence must refuse in a call of a pure function: ``(node, message,
    hint)``, or None. An ``out`` array or ``overwrite_input=True`` changes an array in
    place; a ufunc's ``where`` leaves elements uninitialised (its result is then not the
    same for the same arguments); arguments the function does not take make Python
    raise TypeError."""
    name = name_of(callee)
    count = len(call.args)
    if _ufunc_name(callee) is not None:
        operands = callee.nin  # type: ignore[attr-defined]  # a ufunc's
        if count > operands:
            return (call.args[operands], f"{name} takes {operands} operand"
                    f"{'s' if operands != 1 else ''}; the next positional argument is its "
                    "`out` array, which writes the result into an array in place",
                    "assign the result instead")
        for keyword in call.keywords:
            if keyword.arg != "dtype":
                return (keyword, f"{name}'s `{keyword.arg}=` is not supported (srcdiff "
                        "calls ufuncs without a derivative rule with operands and dtype= "
                        "only)", "assign the result; for `where=`, use numpy.where")
        if count < operands:
            return (call, f"{name} takes {operands} operands, not {count}: Python raises "
                    "TypeError here", "pass every operand")
        return None
    try:
        signature = inspect.signature(callee)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # no signature to read (a builtin): by position only
        return None if not call.keywords else (
            call, f"keyword arguments to {name} are not supported", "pass them by position")
    try:
        bound = signature.bind(*call.args, **{k.arg: k.value for k in call.keywords
                                             if k.arg is not None})
    except TypeError as error:
        return (call, f"{name} cannot be called with these arguments ({error}): Python "
                "raises TypeError here", "see help(" + name + ")")
    for parameter, allowed in _WRITING.items():
        given = bound.arguments.get(parameter)
        if given is None:
            continue
        if isinstance(given, ast.Constant) and given.value is allowed:
            continue
        what = ("writes the result into an array in place" if parameter == "out" else
                "may change its argument in place")
        return (given, f"{name} with `{parameter}=` {what}: not supported",
                "assign the result instead" if parameter == "out" else
                f"leave {parameter} False (the default)")
    return None


# --------------------------------------------------------------------------------------
# The kind of a call's result
# --------------------------------------------------------------------------------------

KindOf = Callable[[ast.expr], "Kind | None"]


def result_kind(callee: object, call: ast.Call, of: KindOf) -> Kind:
    """The kind of ``call``'s result; ``of`` gives an argument's kind (a list written out
    is the array NumPy makes of it; None: not known). Conservative: a number only
    where the result always is one for these kinds of arguments, an array of a known
    rank only where NumPy's documentation gives it, else an array of unknown rank."""
    if getattr(callee, "__module__", None) == "math":
        return SCALAR
    if _ufunc_name(callee) is not None:  # elementwise: the operands broadcast
        if getattr(callee, "signature", None) is not None:
            return ANY_ARRAY  # a generalised ufunc (numpy.vecdot) takes axes away
        kinds = [of(a) for a in call.args]
        if any(k is None for k in kinds):
            return ANY_ARRAY
        return _broadcast([k for k in kinds if k is not None])
    if isinstance(callee, type) and len(call.args) == 1 and not call.keywords:
        # a NumPy scalar type as a cast: a number of a number, an array of an array
        given = of(call.args[0])
        return ANY_ARRAY if given is None else given
    name = name_of(callee).rsplit(".", 1)[1]
    rule = _KINDS.get(name)
    return rule(_Arguments(callee, call, of)) if rule is not None else ANY_ARRAY


def _broadcast(kinds: list[Kind]) -> Kind:
    arrays = [k for k in kinds if k.is_array]
    if not arrays:
        return SCALAR
    ranks = [k.ndim for k in arrays]
    return ANY_ARRAY if None in ranks else array(max(r for r in ranks if r is not None))


class _Arguments:
    """A call's arguments by parameter name (``inspect.signature`` of the callee), and
    the defaults they leave (``ok``: the call binds)."""

    def __init__(self, callee: object, call: ast.Call, of: KindOf) -> None:
        self.of = of
        self.arguments: dict[str, ast.expr] = {}
        self.defaults: dict[str, Any] = {}
        try:
            signature = inspect.signature(callee)  # type: ignore[arg-type]
            bound = signature.bind(
                *call.args, **{k.arg: k.value for k in call.keywords if k.arg is not None})
        except (TypeError, ValueError):
            self.ok = not (call.args or call.keywords)
            return
        self.ok = True
        self.arguments = dict(bound.arguments)
        self.defaults = {n: p.default for n, p in signature.parameters.items()}

    def given(self, name: str) -> bool:
        """Whether ``name`` is given, other than as its default written out (``axis=None``
        of ``percentile``, ``keepdims=False``; ``numpy.sort``'s ``axis=None`` is given:
        its default is -1)."""
        node = self.arguments.get(name)
        if node is None:
            return False
        default = self.defaults.get(name, inspect.Parameter.empty)
        return not (isinstance(node, ast.Constant) and type(node.value) is type(default)
                    and node.value == default)

    def kind(self, name: str) -> Kind | None:
        node = self.arguments.get(name)
        return None if node is None else self.of(node)

    def number(self, name: str) -> bool:
        kind = self.kind(name)
        return kind is not None and not kind.is_array

    def rank(self, name: str) -> int | None:
        """The rank of an array argument (0 for a number); None when not known."""
        kind = self.kind(name)
        if kind is None:
            return None
        return kind.ndim if kind.is_array else 0

    def only(self, *names: str) -> bool:
        """Whether the call gives no argument but these (defaults written out aside)."""
        return self.ok and all(n in names or not self.given(n) for n in self.arguments)


def _like(parameter: str, *options: str) -> Callable[[_Arguments], Kind]:
    """An array of ``parameter``'s shape (``sort``, ``partition``), where only
    ``options`` (which keep the shape) are given besides it."""
    def kind(a: _Arguments) -> Kind:
        rank = a.rank(parameter)
        if a.only(parameter, *options) and rank is not None and rank >= 1:
            return array(rank)
        return ANY_ARRAY
    return kind


def _elementwise_in(parameter: str, *others: str) -> Callable[[_Arguments], Kind]:
    """A result of ``parameter``'s shape, computed element by element (``interp``'s x,
    ``searchsorted``'s v): a number for a number (a NumPy scalar, as NumPy returns)."""
    def kind(a: _Arguments) -> Kind:
        given = a.kind(parameter)
        if not a.only(parameter, *others) or given is None or (given.is_array and
                                                                given.ndim == 0):
            return ANY_ARRAY  # (of a 0-d array: a 0-d array or a NumPy scalar)
        return given if given.is_array else SCALAR
    return kind


def _all_elements(*others: str, numbers: tuple[str, ...] = ()) -> Callable[[_Arguments], Kind]:
    """A reduction over every element (no ``axis``, no ``keepdims``): a number, where
    the parameters ``numbers`` (a percentile's q) are numbers; else an array."""
    def kind(a: _Arguments) -> Kind:
        first = next(iter(a.arguments), "")  # the array reduced
        if a.only(first, *others, *numbers) and all(a.number(n) for n in numbers):
            return SCALAR
        return ANY_ARRAY
    return kind


def _fixed(kind: Kind, *options: str) -> Callable[[_Arguments], Kind]:
    """Always ``kind``, unless one of ``options`` is given (``return_indices=True``
    makes a tuple)."""
    def rule(a: _Arguments) -> Kind:
        return kind if a.ok and not any(a.given(o) for o in options) else ANY_ARRAY
    return rule


def _unique(a: _Arguments) -> Kind:
    """The sorted unique values, a 1-d array; with ``return_index`` or ``return_counts``,
    a tuple of 1-d arrays, read by position as the rows of an array of two axes
    (``u, counts = numpy.unique(y, return_counts=True)``). ``return_inverse`` has the
    input's shape in some NumPy versions, ``axis`` keeps the others: not known."""
    if not a.ok or a.given("axis") or a.given("return_inverse"):
        return ANY_ARRAY
    if a.given("return_index") or a.given("return_counts"):
        return array(2)
    return array(1)


def _histogram(a: _Arguments) -> Kind:
    """``(counts, edges)``, two 1-d arrays (of the flattened data), read by position as
    the rows of an array of two axes: ``counts, edges = numpy.histogram(y)``."""
    return array(2) if a.ok else ANY_ARRAY


def _polyval(a: _Arguments) -> Kind:
    """The polynomial of coefficients ``p`` (1-d) at each element of ``x``: ``x``'s
    kind (a number for a number)."""
    if a.rank("p") != 1:
        return ANY_ARRAY
    return _elementwise_in("x", "p")(a)


def _of_a_matrix(*options: str) -> Callable[[_Arguments], Kind]:
    """A number of a matrix (``linalg.cond``, ``matrix_rank``, ``matrix_norm``,
    ``trace``); of a stack of matrices, an array."""
    def kind(a: _Arguments) -> Kind:
        first = next(iter(a.arguments), None)
        if first is not None and a.rank(first) == 2 and a.only(first, *options):
            return SCALAR
        return ANY_ARRAY
    return kind


def _trapezoid(a: _Arguments) -> Kind:
    """Integrated along the last axis: one axis fewer than ``y`` (``x`` of ``y``'s rank
    or 1-d, or ``dx``)."""
    rank = a.rank("y")
    x = a.rank("x") if a.given("x") else 1
    if not a.only("y", "x", "dx") or rank is None or rank < 1 or x not in (1, rank):
        return ANY_ARRAY
    return SCALAR if rank == 1 else array(rank - 1)


_QUANTILE_OPTIONS = ("method", "interpolation", "weights")

_KINDS: dict[str, Callable[[_Arguments], Kind]] = {
    "sort": _like("a", "kind", "order", "stable"),
    "partition": _like("a", "kth", "kind", "order"),
    "argpartition": _like("a", "kth", "kind", "order"),
    "unique": _unique,
    "histogram": _histogram,
    "bincount": _fixed(array(1)),
    "flatnonzero": _fixed(array(1)),
    "argwhere": _fixed(array(2)),
    "setdiff1d": _fixed(array(1)),
    "union1d": _fixed(array(1)),
    "intersect1d": _fixed(array(1), "return_indices"),
    "histogram_bin_edges": _fixed(array(1)),
    "correlate": _fixed(array(1)),
    "fftfreq": _fixed(array(1)),
    "rfftfreq": _fixed(array(1)),
    "vander": _fixed(array(2)),
    "array_equal": _fixed(SCALAR),
    "fftshift": _like("x"),
    "ifftshift": _like("x"),
    "searchsorted": _elementwise_in("v", "a", "side", "sorter"),
    "digitize": _elementwise_in("x", "bins", "right"),
    "interp": _elementwise_in("x", "xp", "fp", "left", "right", "period"),
    "percentile": _all_elements(*_QUANTILE_OPTIONS, numbers=("q",)),
    "quantile": _all_elements(*_QUANTILE_OPTIONS, numbers=("q",)),
    "nanpercentile": _all_elements(*_QUANTILE_OPTIONS, numbers=("q",)),
    "nanquantile": _all_elements(*_QUANTILE_OPTIONS, numbers=("q",)),
    "nanmedian": _all_elements(),
    "nanmean": _all_elements("dtype"),
    "nanstd": _all_elements("dtype", "ddof"),
    "nanvar": _all_elements("dtype", "ddof"),
    "nanmax": _all_elements(),
    "nanmin": _all_elements(),
    "nanargmax": _all_elements(),
    "nanargmin": _all_elements(),
    "nanprod": _all_elements("dtype"),
    "ptp": _all_elements(),
    "average": _all_elements("weights"),
    "trapezoid": _trapezoid,
    "polyval": _polyval,
    "cond": _of_a_matrix("p"),
    "matrix_rank": _of_a_matrix("tol", "hermitian", "rtol"),
    "matrix_norm": _of_a_matrix("ord"),
    "trace": _of_a_matrix(),
    "trapz": _trapezoid,
}
