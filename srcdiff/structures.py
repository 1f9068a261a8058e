"""Structured parameters: dicts, lists, tuples, NamedTuples and dataclasses of numbers
and arrays (JAX calls them pytrees), and objects whose attributes a function reads.

A function reads a structured parameter through *access paths* with constant keys:
``p["w"]``, ``p.layers[0].b``, ``w, b = p``. ``normalize`` gives each path that reaches a
leaf (a number or an array) a parameter of its own, so every later stage sees plain
parameters; the call wrapper (``api``) reads those leaves out of the arguments at each
call, and puts the leaves' gradients back into the argument's shape (``rebuild``).

A path is a tuple of steps: ``("item", key)`` or ``("attr", name)``, written as the
source would write it. A NamedTuple's field is its position (``p.w`` and ``w, b = p``
read the same leaf), negative positions count from the end: ``canonical`` paths, so that
two ways of reading one leaf are one parameter and their derivatives add up.

Code generated for one argument holds for another when the *facts* it was generated
from hold: each path it reads leads to a value of the same kind (a number, an array of
the same rank, a container of the same type and length). A parameter differentiated
with respect to must be a whole pytree of numbers and float arrays; its ``treedef``
(its containers' types, keys and lengths, its leaves' kinds) is part of the key.

>>> from collections import namedtuple
>>> P = namedtuple("P", "w b")
>>> value = {"layer": P(2.0, [1.0, 3.0])}
>>> path = canonical(value, (("item", "layer"), ("attr", "b"), ("item", -1)))
>>> path
(('item', 'layer'), ('item', 1), ('item', 1))
>>> follow(value, path), text("p", path)
(3.0, "p['layer'][1][1]")
>>> rebuild(value, {(("item", "layer"), ("item", 0)): 5.0})
{'layer': P(w=5.0, b=[0.0, 0.0])}
"""

from __future__ import annotations

import dataclasses
import numbers
import types
from typing import Any, cast

from .errors import ArgumentKindError
from .kinds import Kind, data_kind, kind_of_value

Step = tuple[str, Any]  # ("item", key or index) or ("attr", name)
Path = tuple[Step, ...]


def is_namedtuple(value: object) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def is_container(value: object) -> bool:
    """Whether ``value`` is a pytree node: a dict, list, tuple (NamedTuple too) or a
    dataclass instance."""
    return isinstance(value, (dict, list, tuple)) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type))


def is_object(value: object) -> bool:
    """Whether a function may read ``value``'s attributes as constants: any object that
    is not a number, a string, None or an array (those have no fields to read)."""
    return not (value is None or isinstance(value, (numbers.Number, str, bytes))
                or kind_of_value(value) is not None)


@dataclasses.dataclass(frozen=True)
class Method:
    """What a call ``obj.m(...)`` of an object's method found (``method_of``): the
    function its class holds and whether it takes the object first (not a
    ``staticmethod``); None where no plain function answers (an attribute of the
    instance's own, a classmethod, a builtin). Compared by the function's identity:
    code that inlined one method holds for arguments whose class gives that same one."""
    function: Any
    bound: bool = True


def method_of(value: Any, name: str) -> Method:
    """The method ``value.name`` calls, as ``Method`` (``function`` None when it is not a
    function its class defines, or the instance's own attribute hides it)."""
    import inspect
    if name in getattr(value, "__dict__", ()):
        return Method(None, False)
    found = inspect.getattr_static(type(value), name, None)
    if isinstance(found, staticmethod) and isinstance(found.__func__, types.FunctionType):
        return Method(found.__func__, False)
    if isinstance(found, types.FunctionType):
        return Method(found, True)
    return Method(None, False)


def step(value: Any, kind: str, key: Any) -> tuple[Any, Step]:
    """The value one step down from ``value``, and the step as a canonical path writes it;
    raises LookupError, AttributeError or TypeError as Python would. A ``("method", name)``
    step gives ``method_of(value, name)`` (a fact of code that calls it)."""
    if kind == "method":
        return method_of(value, key), (kind, key)
    if kind == "attr":
        if is_namedtuple(value) and key in type(value)._fields:
            return getattr(value, key), ("item", type(value)._fields.index(key))
        if isinstance(value, (dict, list, tuple)) and not (
                is_namedtuple(value) and hasattr(type(value), key)):  # (a property)
            raise AttributeError(f"'{type(value).__name__}' object has no attribute {key!r}")
        return getattr(value, key), ("attr", key)
    if isinstance(value, (list, tuple)) and isinstance(key, int) and not isinstance(key, bool):
        child = value[key]  # IndexError as Python's
        return child, ("item", key % len(value))
    if isinstance(value, dict):
        return value[key], ("item", key)
    raise TypeError(f"'{type(value).__name__}' object is not subscriptable with {key!r}"
                    if not hasattr(value, "__getitem__") else
                    f"srcdiff reads items of dicts, lists and tuples, not of a "
                    f"{type(value).__name__}")


def follow(value: Any, path: Path) -> Any:
    for kind, key in path:
        value, _ = step(value, kind, key)
    return value


def canonical(value: Any, path: Path) -> Path:
    result = []
    for kind, key in path:
        value, done = step(value, kind, key)
        result.append(done)
    return tuple(result)


def text(name: str, path: Path) -> str:
    """``path`` as source: ``p['w'].b[0]``."""
    return name + "".join(f".{key}" if kind in ("attr", "method") else f"[{key!r}]"
                          for kind, key in path)


def children(value: Any) -> list[tuple[Step, Any]]:
    """``(step, child)`` for each child of a pytree node, in order."""
    if isinstance(value, dict):
        return [(("item", k), v) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [(("item", i), v) for i, v in enumerate(value)]
    return [(("attr", f.name), getattr(value, f.name)) for f in dataclasses.fields(value)]


def observe(value: Any) -> Any:
    """What code generated for ``value`` assumed about it: for a container, its type and
    length (or keys); for a leaf, its kind (a number, an array of some rank); for a
    string, the string (an option: the code holds the branch it selects); for anything
    else, its type."""
    if isinstance(value, dict):
        return (dict, tuple(value))
    if isinstance(value, (list, tuple)):
        return (type(value), len(value))
    if isinstance(value, (Method, str)):
        return value  # (a string: an option the code was written for, by its value)
    kind = data_kind(value)
    if kind is not None:
        return kind
    return type(value)


def treedef(name: str, value: Any, path: Path = ()) -> tuple[Any, ...]:
    """The structure of a parameter differentiated with respect to (hashable): its
    containers' types and keys, its leaves' kinds; refuses leaves that are not numbers
    or float arrays, naming where they are."""
    if value is None:
        return (None,)
    if is_container(value):
        return (observe(value) if not dataclasses.is_dataclass(value) else type(value),
                tuple(treedef(name, child, path + (s,)) for s, child in children(value)))
    kind = kind_of_value(value)
    if kind is None or isinstance(value, bool):
        raise ArgumentKindError(
            f"{text(name, path)} is a {type(value).__name__}: a structure differentiated "
            "with respect to holds numbers and NumPy float arrays (dicts, lists, tuples, "
            "NamedTuples and dataclasses of them)")
    if kind.is_array and value.dtype.kind != "f":
        raise ArgumentKindError(
            f"{text(name, path)} is an array of {value.dtype}: differentiate with respect "
            "to float arrays only (numpy.asarray(x, dtype=float))")
    return (kind,)


def rebuild(value: Any, gradients: dict[Path, Any], path: Path = ()) -> Any:
    """``value``'s structure with the gradient of each leaf: ``gradients[path]`` where a
    path was read, zero (of the leaf's shape) where it was not."""
    if value is None:
        return None
    if is_container(value):
        parts = [(s, rebuild(child, gradients, path + (s,))) for s, child in children(value)]
        if isinstance(value, dict):
            return type(value)((s[1], g) for s, g in parts) if type(value) is not dict \
                else {s[1]: g for s, g in parts}
        if is_namedtuple(value):
            return type(value)(*(g for _, g in parts))
        if isinstance(value, (list, tuple)):
            return type(value)(g for _, g in parts)
        # a dataclass of the gradients, made without calling __init__: __post_init__
        # would compute from (or validate) gradients, and fields of init=False are not
        # arguments of it
        made = object.__new__(type(value))
        for s, g in parts:
            object.__setattr__(made, s[1], g)
        return made
    if path in gradients:
        return gradients[path]
    if cast(Kind, kind_of_value(value)).is_array:  # a leaf: a number or an array (treedef)
        import numpy
        return numpy.zeros_like(value)
    return 0.0
