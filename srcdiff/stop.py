"""``srcdiff.stop_gradient``: a value whose derivative srcdiff takes as zero.

>>> import math, srcdiff
>>> def f(x):
...     return x * srcdiff.stop_gradient(x)
>>> srcdiff.grad(f)(3.0)   # d/dx (x * c) with c = x held constant
3.0
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
from collections.abc import Iterator
from typing import Any, Callable, Literal, ParamSpec, TypeVar, cast, overload

_P = ParamSpec("_P")
_R = TypeVar("_R")
_T = TypeVar("_T")

_frozen: contextvars.ContextVar[FrozenStops | None] = contextvars.ContextVar("srcdiff_frozen_stops", default=None)


def stop_gradient(x: _T) -> _T:
    """``x`` itself; srcdiff takes its derivative as zero, so derivatives do not flow
    through it (``jax.lax.stop_gradient``, PyTorch's ``detach``). Generated code reads
    ``x`` directly. Under :class:`FrozenStops` (central differences in ``check_grad`` and
    the test oracles) one evaluation's values are replayed in the next ones."""
    frozen = _frozen.get()
    return x if frozen is None else frozen.value(x)


class FrozenStops:
    """The values ``stop_gradient`` returns in one evaluation of a function, replayed in
    later ones in call order, so that central differences (``check_grad``, the test
    oracles) see them as the constants srcdiff does::

        stops = FrozenStops()
        with stops.recording():
            f(x)
        with stops.replaying():
            f(x + h)
    """

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.position: int | None = None  # None: recording
        self.diverged = False  # a replay asked for more values than were recorded

    def value(self, x: _T) -> _T:
        if self.position is None:
            self.values.append(copy.copy(x))  # the program may change an array later
            return x
        if self.position < len(self.values):
            self.position += 1
            return cast(_T, copy.copy(self.values[self.position - 1]))
        self.diverged = True
        return x

    @contextlib.contextmanager
    def recording(self) -> Iterator[FrozenStops]:
        self.values, self.position = [], None
        token = _frozen.set(self)
        try:
            yield self
        finally:
            _frozen.reset(token)

    @contextlib.contextmanager
    def replaying(self) -> Iterator[FrozenStops]:
        self.position = 0
        token = _frozen.set(self)
        try:
            yield self
        finally:
            _frozen.reset(token)


RETURNS = (None, "number", "array")


@overload
def nondifferentiable(func: Callable[_P, _R], *,
                      returns: Literal["number", "array"] | None = None) -> Callable[_P, _R]:
    ...


@overload
def nondifferentiable(func: None = None, *, returns: Literal["number", "array"] | None = None
                      ) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    ...


def nondifferentiable(func: Callable[..., Any] | None = None, *,
                      returns: Literal["number", "array"] | None = None) -> Any:
    """Mark ``func`` as having no derivative (piecewise constant, integer-valued, or a
    value the gradient should treat as data): srcdiff neither reads its source nor
    differentiates through it; a call's result is a constant, as ``math.floor``'s is. Use
    it for helpers srcdiff cannot or should not look into (they may use any Python).

    ``returns`` says what a call gives, which generated code must know: ``None`` (the
    default) for a result like its arguments (a number when every argument is a number,
    else an array of the largest argument rank: elementwise), ``"number"`` or
    ``"array"``. The returned wrapper checks it on every call and raises
    ``ArgumentKindError`` when the result is not what was said, so a wrong declaration
    is never a wrong gradient.

    >>> import math, srcdiff
    >>> @srcdiff.nondifferentiable
    ... def level(v):
    ...     return math.floor(v * 4.0) / 4.0
    >>> def f(x):
    ...     return x * level(x)
    >>> srcdiff.grad(f)(1.3)   # level(x) = 1.25 held constant
    1.25
    """
    if returns not in RETURNS:
        raise ValueError(f"returns is None (like the arguments), 'number' or 'array', "
                         f"not {returns!r}")
    if func is None:
        return lambda f: nondifferentiable(f, returns=returns)
    if not callable(func):
        from .errors import SrcdiffError
        raise SrcdiffError(f"nondifferentiable needs a callable, not {func!r}")
    import functools

    @functools.wraps(func)
    def marked(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        _check_result(marked, returns, result, args, kwargs)
        return result

    # the mark: ``RULES.is_nondifferentiable`` looks for it (nothing is registered, so a
    # process that marks many functions keeps none of them alive)
    setattr(marked, "__srcdiff_returns__", returns)  # an attribute its type does not declare
    return marked


def _check_result(marked: Callable[..., Any], returns: str | None, result: Any,
                  args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    import sys
    numpy = sys.modules.get("numpy")
    ndarray = numpy.ndarray if numpy is not None else ()

    def rank(value: Any) -> Any:
        return value.ndim if isinstance(value, ndarray) else None
    got = rank(result)
    if returns == "number":
        ok, said = got is None, "a number"
    elif returns == "array":
        ok, said = got is not None, "an array"
    else:
        ranks = [r for r in map(rank, (*args, *kwargs.values())) if r is not None]
        expected = max(ranks) if ranks else None
        ok = got == expected
        said = ("a number, like its arguments" if expected is None else
                f"an array of rank {expected}, like its arguments")
    if not ok:
        from .errors import ArgumentKindError
        what = "a number" if got is None else f"an array of shape {result.shape}"
        hint = "" if returns else " (say what it returns: returns='number' or 'array')"
        raise ArgumentKindError(
            f"{marked.__qualname__} is marked srcdiff.nondifferentiable to return {said}, "
            f"but returned {what}{hint}")
