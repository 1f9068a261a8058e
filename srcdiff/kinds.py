"""Kinds of runtime values: a number, or a NumPy array of some rank.

Generated code is specialised on the kinds of a function's arguments (DESIGN.md,
"Runtime values"): a variable that only ever holds numbers gets plain scalar code, with
``math`` functions and no broadcasting reductions; an array gets NumPy code, and an
operand that may have been broadcast gets its adjoint summed back to its own shape.
This module infers each variable's kind from the parameters' kinds, over the
three-address form, flow-insensitively (a variable that holds a number in one place and
an array in another is an array).

>>> SCALAR, array(2), join(SCALAR, array(1)), join(array(1), array(2))
(scalar, array[2], array[1], array[?])
>>> kind_of_value(3.0), kind_of_value("a") is None, data_kind([[1.0, 2.0], [3.0, 4.0]])
(scalar, True, array[2])
"""

from __future__ import annotations

import ast
import itertools
import numbers
from dataclasses import dataclass
from typing import Any, Callable, cast, overload


@dataclass(frozen=True)
class Kind:
    """``ndim`` is None for an array of unknown rank; 0 for a 0-d array."""

    is_array: bool
    ndim: int | None = 0

    def __repr__(self) -> str:
        if not self.is_array:
            return "scalar"
        return f"array[{'?' if self.ndim is None else self.ndim}]"


SCALAR = Kind(False)


def array(ndim: int | None) -> Kind:
    return Kind(True, ndim)


ANY_ARRAY = array(None)


@overload
def join(a: Kind | None, b: Kind) -> Kind:
    ...


@overload
def join(a: Kind, b: Kind | None) -> Kind:
    ...


@overload
def join(a: Kind | None, b: Kind | None) -> Kind | None:
    ...


def join(a: Kind | None, b: Kind | None) -> Kind | None:
    """The kind of a variable that may hold either (None: no value seen yet)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if not a.is_array:
        return b
    if not b.is_array:
        return a
    return ANY_ARRAY


def broadcast(*kinds: Kind | None) -> Kind:
    """The kind of an elementwise operation's result."""
    arrays = [k for k in kinds if k is not None and k.is_array]
    if not arrays:
        return SCALAR
    ranks = [k.ndim for k in arrays]
    return array(None if None in ranks else max(cast("list[int]", ranks)))


def is_ndarray(value: object) -> bool:
    numpy = _numpy()
    return numpy is not None and isinstance(value, numpy.ndarray)


def kind_of_value(value: Any) -> Kind | None:
    """The kind of an argument or a global; None for anything that is neither a real
    number nor a NumPy array (srcdiff refuses those as arguments)."""
    if isinstance(value, numbers.Real):  # float, int, bool, NumPy scalars
        return SCALAR
    if is_ndarray(value):  # of real numbers: complex ones are refused (the rules are real)
        return array(value.ndim) if value.dtype.kind != "c" else None
    return None


def is_complex(value: Any) -> bool:
    """A complex number (Python's or NumPy's) or an array of them: srcdiff's rules are
    rules of real arithmetic (``abs``, ``*``, ``sum`` of complex values read as real gave
    silently wrong gradients), so these are refused as arguments and as globals."""
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return True
    return is_ndarray(value) and value.dtype.kind == "c"


def data_kind(value: Any) -> Kind | None:
    """The kind of a value read as data: a number or an array as ``kind_of_value``; a
    list or tuple of numbers (nested) as the array NumPy would make of it, since that is
    what it is in arithmetic with arrays (``x - [3.0, 5.0]``); one holding arrays too, as
    the array NumPy stacks of it (``[w1, w2]`` of two vectors: a matrix), or an array of
    unknown rank when its arrays are not all of one shape (``ragged``); None for anything
    else."""
    kind = kind_of_value(value)
    if kind is not None or not isinstance(value, (list, tuple)):
        return kind
    if _holds_structures(value):
        return None  # a list of dicts or objects: a structure (``srcdiff.structures``)
    if not _numbers_only(value):
        holds, shape = _stacked(value)
        if holds:  # the rank is not the depth of the lists: the arrays' axes count too
            return ANY_ARRAY if shape is None else array(len(shape))
    depth = 0
    while isinstance(value, (list, tuple)):
        if not value:
            return array(depth + 1)
        depth, value = depth + 1, value[0]
    return array(depth) if kind_of_value(value) is not None else ANY_ARRAY


def ragged(value: Any) -> bool:
    """Whether ``value`` is a list or tuple holding NumPy arrays (at any depth) that
    NumPy does not stack into one array of numbers: arrays of different shapes (a
    network's weight matrices), arrays next to numbers or to lists of another length
    (``(A, c)`` of a matrix and a vector). Read as data, such a value is a structure
    (``srcdiff.structures``), each of its arrays of its own kind, not one array.

    >>> import numpy
    >>> ragged([numpy.ones(2), numpy.ones(3)]), ragged([numpy.ones(2), numpy.ones(2)])
    (True, False)
    >>> ragged((numpy.eye(2), numpy.ones(2))), ragged([[1.0], [2.0, 3.0]])
    (True, False)
    """
    if not isinstance(value, (list, tuple)) or _numbers_only(value):
        return False
    holds, shape = _stacked(value)
    return holds and shape is None


def _holds_structures(value: list[Any] | tuple[Any, ...]) -> bool:
    """Whether a list or tuple holds (at any depth) a dict, a dataclass or another
    object with attributes: no array NumPy would make of it, but parts to read by key or
    attribute (``for p in layers: p["W"]``)."""
    for item in value:
        if isinstance(item, (list, tuple)):
            if _holds_structures(item):
                return True
        elif isinstance(item, dict) or (hasattr(item, "__dict__") and not isinstance(
                item, type) and kind_of_value(item) is None):
            return True
    return False


_IRREGULAR = object()  # (in _stacked) items whose shapes differ
_NUMBERS = {float, int}
_SEQUENCES = {list, tuple}


def _numbers_only(value: list[Any] | tuple[Any, ...]) -> bool:
    """Whether ``value`` holds only floats and ints, in lists and tuples nested to any
    depth (the common case, looked at a depth at a time at C speed); False where it
    holds anything else (``_stacked`` looks at those one by one)."""
    level: Any = value
    while True:
        found = set(map(type, level))
        if found <= _NUMBERS:
            return True
        if not found <= _SEQUENCES:
            return False
        level = list(itertools.chain.from_iterable(level))


def _stacked(value: list[Any] | tuple[Any, ...]) -> tuple[bool, tuple[int, ...] | None]:
    """Whether the list or tuple ``value`` holds a NumPy array at any depth, and the
    shape of the array NumPy makes of it (None when its items are not all numbers,
    arrays and lists or tuples of them, of one shape at each depth)."""
    holds = False
    shape: Any = None  # the items' shape: None before the first, _IRREGULAR after two differ
    for item in value:
        kind = type(item)
        inner: Any
        if kind is float or kind is int:
            inner = ()
        elif isinstance(item, (list, tuple)):
            inner_holds, inner = _stacked(item)
            holds = holds or inner_holds
            if inner is None:
                inner = _IRREGULAR
        elif is_ndarray(item):
            holds = True
            inner = item.shape
        elif isinstance(item, numbers.Real):  # bool, NumPy scalars
            inner = ()
        else:
            inner = _IRREGULAR
        if shape is None:
            shape = inner
        elif inner != shape:
            shape = _IRREGULAR
    if shape is _IRREGULAR:
        return holds, None
    return holds, (len(value),) + (shape if shape is not None else ())


def _numpy() -> Any:
    import sys
    return sys.modules.get("numpy")


def index_rank(base: Kind, index: ast.expr, kinds: Callable[[ast.expr], Kind | None]) -> Kind:
    """The kind of ``base[index]``: integers remove an axis, ``None`` adds one, slices
    and ``...`` keep them. Arrays of indices of rank 1 (integers, or a boolean mask of one
    axis) each take an axis and together give one (they broadcast to one length); other
    arrays of indices make the rank unknown."""
    if not base.is_array:
        return SCALAR  # an item of a tuple of numbers (x.shape[0], data[i])
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    ndim = base.ndim
    advanced = False
    for part in parts:
        if isinstance(part, ast.Slice) or (isinstance(part, ast.Constant) and part.value is Ellipsis):
            continue
        if isinstance(part, ast.Constant) and part.value is None:
            ndim = None if ndim is None else ndim + 1
            continue
        kind = kinds(part)
        if kind is not None and kind.is_array:
            if kind.ndim != 1:
                return ANY_ARRAY  # a mask of several axes, an index array of rank 2...
            advanced = True
        ndim = None if ndim is None else ndim - 1
    if ndim is None:
        return ANY_ARRAY
    ndim += advanced
    return array(ndim) if ndim > 0 else SCALAR


# Array methods and attributes, and the NumPy function each one means
# (``x.sum(axis=0)`` is ``numpy.sum(x, axis=0)``, ``x.T`` is ``numpy.transpose(x)``).
METHODS = {
    "sum": "sum", "mean": "mean", "prod": "prod", "max": "max", "min": "min", "var": "var",
    "std": "std", "cumsum": "cumsum", "dot": "dot", "reshape": "reshape", "ravel": "ravel",
    "flatten": "ravel", "squeeze": "squeeze", "transpose": "transpose",
    "swapaxes": "swapaxes", "copy": "copy", "clip": "clip", "trace": "trace",
    "argmax": "argmax", "argmin": "argmin", "argsort": "argsort", "any": "any", "all": "all",
    "diagonal": "diagonal", "repeat": "repeat", "take": "take", "cumprod": "cumprod",
    "astype": "array", "item": "item",  # item: runtime.item_of, not a NumPy function
}
# Methods whose several positional arguments form one tuple: x.reshape(2, 3).
TUPLE_METHODS = {"reshape", "transpose"}
ATTRIBUTES = {"T": "transpose", "shape": "shape", "ndim": "ndim", "size": "size"}
