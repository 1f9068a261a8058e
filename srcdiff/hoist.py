"""Optimization of the three-address form: hoist loop-invariant temporaries.

Contract: takes a lowered ``ir.Function`` and returns one where every temporary that a
loop computes from values the loop never changes is computed once, before the loop. A
statement moves when it is directly in the loop's body, assigns a synthetic temporary
assigned nowhere else, applies a primitive that cannot raise (so computing it when the
loop runs zero times changes nothing), and reads no variable the loop assigns. Hoisted
out of the forward sweep's loop, the statement is also out of the backward sweep's: its
adjoint accumulates over the iterations and its partials apply once, and its value needs
no tape.

>>> def f(k, x, n):
...     for i in range(n):
...         x = -k * x + i
...     return x
>>> from srcdiff.parse import parse
>>> from srcdiff.normalize import normalize
>>> from srcdiff.lower import lower
>>> print(hoist(lower(normalize(parse(f)))).source())
def f(k, x, n):
    neg = -k
    for i in range(n):
        mul = neg * x
        x = mul + i
    return x
"""

from __future__ import annotations

import ast

from .analyse import cannot_raise
from .ir import Function, name_counts

_LOOPS = (ast.For, ast.While)


def hoist(function: Function) -> Function:
    stores, _ = name_counts(function.body)
    return function.replace(body=_block(function.body, function, stores))


def _block(statements: list[ast.stmt], function: Function, stores: dict) -> list[ast.stmt]:
    result = []
    for statement in statements:
        for field in ("body", "orelse"):  # innermost loops first
            nested = getattr(statement, field, None)
            if isinstance(statement, (ast.If, *_LOOPS)) and isinstance(nested, list):
                setattr(statement, field, _block(nested, function, stores))
        if isinstance(statement, _LOOPS):
            hoisted, statement.body = _split(statement, function, stores)
            result += hoisted
        result.append(statement)
    return result


def _split(loop, function: Function, stores: dict) -> tuple[list, list]:
    assigned = {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Store)}
    hoisted, kept = [], []
    for statement in loop.body:
        if _invariant(statement, function, stores, assigned - _targets(hoisted)):
            hoisted.append(statement)
        else:
            kept.append(statement)
    return hoisted, kept or [ast.Pass()]


def _targets(statements) -> set[str]:
    return {s.targets[0].id for s in statements}


def _invariant(statement, function: Function, stores: dict, assigned: set) -> bool:
    if not isinstance(statement, ast.Assign) or not isinstance(statement.targets[0], ast.Name):
        return False
    target = statement.targets[0].id
    reads = {n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name)}
    return (target in function.synthetic and stores.get(target) == 1
            and cannot_raise(statement.value) and not isinstance(statement.value, ast.Name)
            and not reads & (assigned - {target}))
