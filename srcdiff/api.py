"""The public entry points: ``grad``, ``value_and_grad`` and ``source``."""

from __future__ import annotations

import inspect
import numbers
import types
import weakref
from typing import Callable

from .errors import ArgumentKindError, SrcdiffError
from .pipeline import Generated, generate

Wrt = int | str | tuple
_cache: "weakref.WeakKeyDictionary[Callable, dict]" = weakref.WeakKeyDictionary()
# Argument types known to be real numbers; anything else takes the careful path once.
_REAL_TYPES = {float, int, bool}


def grad(func: Callable | None = None, wrt: Wrt = 0) -> Callable:
    """The gradient of ``func``: a function taking the same arguments.

    ``wrt`` is a parameter's position or name, or a tuple of them; one gives one
    gradient, a tuple gives a tuple of gradients. Usable as ``@srcdiff.grad`` and
    ``@srcdiff.grad(wrt=...)``. The gradient is generated once, when ``grad`` is called,
    and cached: ``grad(f) is grad(f)``.
    """
    if func is None:
        return lambda f: grad(f, wrt)
    return _gradient(func, wrt, with_value=False)


def value_and_grad(func: Callable | None = None, wrt: Wrt = 0) -> Callable:
    """Like :func:`grad`, but the function returns ``(func(...), gradient)``."""
    if func is None:
        return lambda f: value_and_grad(f, wrt)
    return _gradient(func, wrt, with_value=True)


def source(gradient: Callable) -> str:
    """The generated source of a function made by :func:`grad` or :func:`value_and_grad`."""
    generated = getattr(gradient, "__srcdiff__", None)
    if not isinstance(generated, Generated):
        raise SrcdiffError(f"{gradient!r} was not made by srcdiff.grad or "
                           "srcdiff.value_and_grad")
    return generated.source


def _gradient(func, wrt, with_value: bool):
    if not isinstance(func, types.FunctionType):
        if callable(func) and not isinstance(wrt, (int, str, tuple, list)):
            raise SrcdiffError("wrt must be a position, a name or a tuple of them")
        # parse explains what kind of callable is not supported
        from .parse import parse
        parse(func)
    try:
        names = _wrt_names(func, wrt)
    except SrcdiffError:
        # A function srcdiff cannot read at all is the more useful thing to report.
        from .fence import fence
        from .parse import parse
        fence(parse(func))
        raise
    key = (names, isinstance(wrt, (tuple, list)), with_value)
    cached = _cache.setdefault(func, {})
    if key not in cached:
        cached[key] = _entry_point(func, names, key[1], with_value)
    return cached[key]


def _wrt_names(func, wrt) -> tuple[str, ...]:
    code = func.__code__
    positional = code.co_varnames[:code.co_argcount]
    everything = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    items = tuple(wrt) if isinstance(wrt, (tuple, list)) else (wrt,)
    if not items:
        raise SrcdiffError("wrt is empty: name at least one parameter to differentiate")
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise SrcdiffError(f"wrt takes parameter positions and names, not {item!r}")
        if isinstance(item, int):
            if not 0 <= item < len(positional):
                raise SrcdiffError(f"wrt={item}: {func.__name__}() has "
                                   f"{len(positional)} positional parameters")
            item = positional[item]
        elif item not in everything:
            raise SrcdiffError(f"wrt={item!r}: {func.__name__}() has no parameter "
                               f"named {item!r} (it has {', '.join(everything) or 'none'})")
        if item in names:
            raise SrcdiffError(f"wrt names {item!r} twice")
        names.append(item)
    return tuple(names)


def _generated_name(func, names, as_tuple: bool, with_value: bool) -> str:
    if with_value:
        return f"value_and_grad_{func.__name__}"
    if as_tuple:
        return f"grad_{func.__name__}"
    return f"d{func.__name__}_d{names[0]}"


def _entry_point(func, names, as_tuple: bool, with_value: bool):
    name = _generated_name(func, names, as_tuple, with_value)
    generated = generate(func, names, name=name, with_value=with_value, as_tuple=as_tuple)
    target = generated.function
    signature = inspect.signature(func)
    real = _REAL_TYPES

    def gradient(*args, **kwargs):
        for value in args:
            if type(value) not in real:
                _check_arguments(signature, names, args, kwargs)
                break
        else:
            for value in kwargs.values():
                if type(value) not in real:
                    _check_arguments(signature, names, args, kwargs)
                    break
        return target(*args, **kwargs)

    gradient.__name__ = gradient.__qualname__ = name
    gradient.__module__ = func.__module__
    gradient.__doc__ = target.__doc__
    # inspect.getsource and inspect.signature follow __wrapped__ to the generated code.
    gradient.__wrapped__ = target
    gradient.__srcdiff__ = generated
    return gradient


def _check_arguments(signature, names, args, kwargs) -> None:
    """Refuse arguments this version cannot differentiate correctly (arrays)."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return  # the call itself reports the mistake
    for parameter, value in bound.arguments.items():
        if isinstance(value, numbers.Real):
            _REAL_TYPES.add(type(value))
            continue
        if hasattr(value, "__array__") or hasattr(value, "__array_interface__") \
                or hasattr(value, "shape"):
            raise ArgumentKindError(
                f"argument {parameter!r} is a {type(value).__name__}: this version of "
                "srcdiff differentiates functions of real numbers (int, float); NumPy "
                "arrays are not supported yet")
        if parameter in names:
            raise ArgumentKindError(
                f"argument {parameter!r} is a {type(value).__name__}: srcdiff "
                "differentiates with respect to real numbers (int or float)")
