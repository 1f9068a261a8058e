"""What a generated gradient assumed about names outside its function, checked per call.

Generation resolves names once: which function ``helper`` is (it gets inlined), that
``SCALE`` holds a number and ``A`` a 2-d array (code is specialised on kinds), that ``abs``
is the builtin. In a notebook these change: a helper is redefined, a global number
becomes an array. ``checker`` turns the names ``parse`` recorded during generation into
one compiled test, run before each call, that is true while every assumption holds:

* a function, module or other object: the name still refers to the very same object;
* a number: the name still holds a number (its value is read live, so any number will do);
* a NumPy array: still an array of the same rank (its values are read live too);
* a builtin: no global of that name has appeared since;
* the rule table: no rule registered or removed since (``RuleTable.user_version``).

When the test fails the gradient generates its code again. A few dictionary lookups per
call: about 30 ns for each name.

>>> import types
>>> namespace = {"SCALE": 2.0, "helper": len}
>>> check = checker([("global", namespace, "SCALE", 2.0), ("global", namespace, "helper", len)])
>>> check()
True
>>> namespace["SCALE"] = 3.5; check()
True
>>> namespace["helper"] = max; check()
False
"""

from __future__ import annotations

import builtins
import numbers
from typing import Any, Protocol

from .parse import UNRESOLVED

_MISSING = object()
# Types known to be real numbers; others are checked with numbers.Real and added.
NUMBERS = {int, float, bool}


def _is_number(value: object) -> bool:
    if type(value) in NUMBERS:
        return True
    if isinstance(value, numbers.Real):
        NUMBERS.add(type(value))
        return True
    return False


class DependencyCheck(Protocol):
    """What ``checker`` makes: a call tells whether every dependency still holds;
    ``test`` is that test as an expression and the names it reads, for the gradient's
    wrapper to inline (a ValueError or KeyError it raises means False)."""

    test: tuple[str, dict[str, Any]]

    def __call__(self) -> bool:
        ...


def checker(dependencies: list[Any]) -> DependencyCheck | None:
    """A function returning whether every dependency still holds; None when there are
    none to check."""
    tests: list[str] = []
    # the names the test reads, prefixed: the gradient's wrapper inlines the test
    # (``check.test``) beside parameters of the user's names
    namespace: dict[str, Any] = {"_srcdiff_MISSING": _MISSING, "_srcdiff_is_number": _is_number,
                       "_srcdiff_BUILTINS": vars(builtins)}
    seen = set()
    for index, (kind, where, name, value) in enumerate(dependencies):
        key = (kind, id(where), name)
        if key in seen:
            continue
        seen.add(key)
        w, v = f"_srcdiff_W{index}", f"_srcdiff_V{index}"
        namespace[w] = where
        if value is UNRESOLVED:
            value = _MISSING
        if _by_identity(value):
            namespace[v] = value
        if kind == "version":  # a counter that must not have moved
            tests.append(f"{w}.{name} == {int(value)}")
            continue
        if kind == "cell":
            read = f"{w}.cell_contents"
        elif kind == "attribute":
            read = f"getattr({w}, {name!r}, _srcdiff_MISSING)"
        elif kind == "builtin":  # a global of that name would shadow the builtin
            tests.append(f"{name!r} not in {w}")
            read = f"_srcdiff_BUILTINS.get({name!r}, _srcdiff_MISSING)"
        elif value is _MISSING:  # a global that must still be missing
            read = f"{w}.get({name!r}, _srcdiff_MISSING)"
        else:  # a global (its dictionary's item: quicker than ``get``; a KeyError is False)
            read = f"{w}[{name!r}]"
        tests.append(_test(read, value, v, namespace, index))
    tests = [t for t in tests if t]
    if not tests:
        return None
    test = "(" + "\n                and ".join(tests) + ")"
    source = f"def check():\n    try:\n        return {test}\n    except (ValueError, KeyError):\n" \
        "        return False\n"
    exec(compile(source, "<srcdiff dependencies>", "exec"), namespace)
    check: DependencyCheck = namespace["check"]
    # the test as an expression and the names it reads (a ValueError or KeyError: False)
    check.test = (test, {k: v for k, v in namespace.items() if k.startswith("_srcdiff_")})
    return check


def _is_array(value: object) -> bool:
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ == "ndarray"


def _by_identity(value: object) -> bool:
    """Whether the test compares identity (it then keeps the object: never an array)."""
    return not _is_number(value) and not _is_array(value)


def _test(read: str, value: Any, v: str, namespace: dict[str, Any], index: int) -> str:
    if _is_number(value):
        return f"_srcdiff_is_number({read})"
    if _is_array(value):
        t = f"_srcdiff_T{index}"
        namespace[t] = type(value)
        return f"(type({read}) is {t} and {read}.ndim == {value.ndim})"
    return f"{read} is {v}"
