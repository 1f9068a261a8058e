"""Optimisation pass: a temporary computed only to be copied is computed in place.

``t = e`` immediately followed by ``y = t``, where ``t`` is synthetic and no path reads
``t`` afterwards (``dataflow.Liveness``), becomes ``y = e``: the same value reaches ``y``,
computed at the same point, and nothing observes ``t``. ``lower`` writes this pair for
``y = f(y)`` inside loops (so that no statement reads its own target); when the backward
sweep does not need the new value under its own name, the pair folds back.

>>> import ast
>>> from srcdiff.ir import Function, Namer
>>> body = ast.parse('''
... for i in r:
...     add = y + x
...     y = add
... return y
... ''').body
>>> function = Function("f", ast.parse("def f(x, y): pass").body[0].args, body, None,
...                     Namer(), synthetic={"add"})
>>> print(coalesce(function).source())
def f(x, y):
    for i in r:
        y = y + x
    return y
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from typing import TypeGuard

from ..dataflow import COMPOUND, Liveness, NameCache, reads
from ..ir import Function, name_id


def coalesce(function: Function, cache: NameCache | None = None) -> Function:
    """``cache``: the names of the statements, where the caller keeps them (``optimize``)."""
    copies = [s for s in _walk(function.body) if _is_copy(s)]
    if not copies:
        return function
    # whether the copied name is live after each copy (all _block asks)
    after = Liveness(function.body, set(), watch={id(s): (name_id(s.value),)
                                                  for s in copies}, cache=cache).after
    changed = [False]
    body = _block(function.body, function.synthetic, after, changed)
    return function.replace(body=body) if changed[0] else function


def _walk(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    for statement in statements:
        yield statement
        if isinstance(statement, COMPOUND):
            yield from _walk(statement.body)
            yield from _walk(statement.orelse)


def _is_copy(statement: ast.stmt) -> TypeGuard[ast.Assign]:
    return isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
        and isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, ast.Name)


def _block(statements: list[ast.stmt], synthetic: set[str], after: dict[int, set[str]],
           changed: list[bool]) -> list[ast.stmt]:
    result: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, COMPOUND):
            body = _block(statement.body, synthetic, after, changed)
            orelse = _block(statement.orelse, synthetic, after, changed)
            if body != statement.body or orelse != statement.orelse:
                statement = copy.copy(statement)
                statement.body, statement.orelse = body, orelse
            result.append(statement)
            continue
        previous = result[-1] if result else None
        if _is_copy(statement) and isinstance(previous, ast.Assign) \
                and len(previous.targets) == 1 and isinstance(previous.targets[0], ast.Name):
            temporary, target = previous.targets[0].id, name_id(statement.targets[0])
            if name_id(statement.value) == temporary and temporary in synthetic \
                    and temporary != target and temporary not in reads(previous.value) \
                    and temporary not in after.get(id(statement), {temporary}):
                merged = copy.copy(previous)
                merged.targets = [ast.Name(target, ast.Store())]
                result[-1] = merged
                changed[0] = True
                continue
        result.append(statement)
    return result
