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
import copy
from typing import TypeGuard

from ..analyse import cannot_raise
from ..dataflow import LOOPS, Facts, assigned, maybe_unbound, reads
from ..ir import Function, name_id
from ..kinds import Kind


def hoist(function: Function, kinds: dict[str, Kind] | None = None) -> Function:
    """``kinds``: the variables' kinds (``analyse.infer_kinds``); None: all are numbers."""
    args = function.args
    parameters = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    facts = Facts(function.body, parameters)
    # reads of names that may be unbound must stay where they are (they raise there)
    unbound = maybe_unbound(function.body, parameters)
    return function.replace(body=_block(function.body, function, facts, unbound, kinds))


def _block(statements: list[ast.stmt], function: Function, facts: Facts, unbound: dict[int, set[str]],
           kinds: dict[str, Kind] | None) -> list[ast.stmt]:
    result: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, (ast.If, *LOOPS)):  # innermost loops first
            statement = copy.copy(statement)  # the input stays as it was
            statement.body = _block(statement.body, function, facts, unbound, kinds)
            statement.orelse = _block(statement.orelse, function, facts, unbound, kinds)
        if isinstance(statement, LOOPS):
            hoisted, statement.body = _split(statement, function, facts, unbound, kinds)
            result += hoisted
        result.append(statement)
    return result


def _split(loop: ast.For | ast.While, function: Function, facts: Facts, unbound: dict[int, set[str]],
           kinds: dict[str, Kind] | None) -> tuple[list[ast.Assign], list[ast.stmt]]:
    changing = assigned(loop)
    hoisted, kept = [], []
    for statement in loop.body:
        if _invariant(statement, function, facts, changing, unbound, kinds):
            hoisted.append(statement)
            changing.discard(name_id(statement.targets[0]))  # its value no longer changes
        else:
            kept.append(statement)
    return hoisted, kept or [ast.Pass()]


def _invariant(statement: ast.stmt, function: Function, facts: Facts, changing: set[str],
               unbound: dict[int, set[str]], kinds: dict[str, Kind] | None) -> TypeGuard[ast.Assign]:
    """A synthetic temporary with one definition, computed by a primitive that cannot
    raise from values the loop does not change and that are bound before it."""
    if not isinstance(statement, ast.Assign) or not isinstance(statement.targets[0], ast.Name):
        return False
    target = statement.targets[0].id
    return (target in function.synthetic and facts.definitions(target) == 1
            and cannot_raise(statement.value, kinds)
            and not isinstance(statement.value, ast.Name)
            and not any(name in changing and name != target  # (no copy of changing)
                        for name in reads(statement.value))
            and id(statement) not in unbound)
