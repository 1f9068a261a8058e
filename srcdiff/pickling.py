"""Gradients pickle by reference to their function, as functions themselves do.

``pickle`` writes a function as its module and qualified name, and reads it back by
importing the module and looking the name up. A gradient is made at run time, so it
has no such name of its own: :func:`canonical` gives it one in this module, made of
what made it (``grad``, ``jvp``...), its function's module and qualified name, and
``wrt``. Looking that name up here (this module's ``__getattr__``) gives the gradient
itself in the process that made it, and in another process (a ``multiprocessing`` or
``concurrent.futures`` worker, a Dask or joblib worker) imports the function's module and
makes the gradient again; its code is generated there at the first call.

Only gradients of functions that pickle themselves (defined at the top level of an
importable module, or a class in one) travel so; others keep their plain name, and
``pickle`` says it cannot find them.
"""

from __future__ import annotations

import importlib
import sys
import weakref
from typing import Any, Callable

MAKERS = ("grad", "value_and_grad", "jvp", "vjp", "hvp", "hessian", "jacobian")
_REGISTRY: dict[str, tuple[weakref.ref[Callable[..., Any]], weakref.ref[Callable[..., Any]]]] = {}  # name -> (weak reference to the gradient, to its function)


def canonical(made: Callable[..., Any], maker: str, func: Callable[..., Any], names: tuple[str, ...],
              as_tuple: bool, **options: object) -> Callable[..., Any]:
    """``made``, named so that it pickles by reference; or the gradient made before for
    the same function and arguments, still alive, which is then returned instead (so
    ``vjp(f) is vjp(f)``, as ``grad(f) is grad(f)``)."""
    name = _name(maker, func, names, as_tuple, options)
    if name is None:
        return made
    entry = _REGISTRY.get(name)
    if entry is not None:
        earlier, its_function = entry[0](), entry[1]()
        if earlier is not None and its_function is func:
            return earlier
    made.__module__ = __name__
    made.__qualname__ = name

    def forget(reference: weakref.ref[Callable[..., Any]], name: str = name) -> None:  # the entry goes with its gradient, unless replaced
        if _REGISTRY.get(name, (None,))[0] is reference:
            del _REGISTRY[name]
    _REGISTRY[name] = (weakref.ref(made, forget), weakref.ref(func))
    return made


def _name(maker: str, func: Callable[..., Any], names: tuple[str, ...], as_tuple: bool,
          options: dict[str, object]) -> str | None:
    module, qualname = getattr(func, "__module__", None), getattr(func, "__qualname__", None)
    if not module or not qualname or module == __name__ or "<" in qualname:
        return None  # a closure, a lambda, a gradient: not importable by name
    try:
        if _lookup(module, qualname) is not func:
            return None
    except (ImportError, AttributeError):
        return None
    parts = [maker, module.replace(".", ":"), qualname.replace(".", ":"), ",".join(names),
             "tuple" if as_tuple else "one"]
    parts += [f"{key}={value}" for key, value in sorted(options.items())]
    return "|".join(parts)  # no dots: pickle would look each part up in turn


def _lookup(module: str, qualname: str) -> Any:
    found = sys.modules.get(module) or importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def __getattr__(name: str) -> Any:
    entry = _REGISTRY.get(name)
    if entry is not None and entry[0]() is not None:
        return entry[0]()
    parts = name.split("|")
    if len(parts) < 5 or parts[0] not in MAKERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    maker, module, qualname, names, arity, *options = parts
    func = _lookup(module.replace(":", "."), qualname.replace(":", "."))
    wrt = tuple(names.split(",")) if arity == "tuple" else names
    keywords = {}
    for option in options:
        key, _, value = option.partition("=")
        keywords[key] = None if value == "None" else int(value) if value.isdigit() else value
    import srcdiff
    return getattr(srcdiff, maker)(func, wrt=wrt, **keywords)
