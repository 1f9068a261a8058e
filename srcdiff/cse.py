"""Optimization of the three-address form: reuse repeated computations.

Contract: takes a lowered ``ir.Function`` and returns one where a top-level temporary
that applies the same primitive to the same operands as an earlier top-level statement
becomes a copy of that statement's result (which the optimizer then propagates away).
Only operands assigned once in the whole function qualify, so both computations see the
same values; only rule primitives and non-differentiable builtins qualify (pure), never
calls to user functions kept as calls (recursion). The second computation would raise
exactly where the first already did, so nothing is lost by skipping it.

>>> import math
>>> def f(vol, t):
...     a = vol * math.sqrt(t) + math.sqrt(2)
...     b = a / (vol * math.sqrt(t)) - math.sqrt(2)
...     return b
>>> from srcdiff.parse import parse
>>> from srcdiff.normalize import normalize
>>> from srcdiff.lower import lower
>>> print(eliminate_common_subexpressions(lower(normalize(parse(f)))).source())
def f(vol, t):
    sqrt = math.sqrt(t)
    mul = vol * sqrt
    sqrt_1 = math.sqrt(2)
    a = mul + sqrt_1
    sqrt_2 = sqrt
    mul_1 = mul
    div = a / mul_1
    sqrt_3 = sqrt_1
    b = div - sqrt_3
    return b
"""

from __future__ import annotations

import ast

from .ir import Function, get_anno


def eliminate_common_subexpressions(function: Function) -> Function:
    stores: dict[str, int] = {}
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                stores[node.id] = stores.get(node.id, 0) + 1
    seen: dict[str, str] = {}  # the primitive, printed with its operands -> its result
    copies: dict[str, str] = {}  # a temporary replaced by a copy -> the earlier result
    body = []
    for statement in function.body:
        if _candidate(statement, function, stores):
            value = _renamed(statement.value, copies)
            key = ast.dump(value)
            target = statement.targets[0].id
            if key in seen:
                copies[target] = seen[key]
                statement = ast.copy_location(
                    ast.Assign([ast.Name(target, ast.Store())], ast.Name(seen[key], ast.Load())),
                    statement)
                ast.fix_missing_locations(statement)
            else:
                seen[key] = target
        body.append(statement)
    return function.replace(body=body)


def _candidate(statement, function: Function, stores: dict) -> bool:
    if not isinstance(statement, ast.Assign) or not isinstance(statement.targets[0], ast.Name):
        return False
    value = statement.value
    if not isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Compare)):
        return False
    if isinstance(value, ast.Call) and get_anno(value, "recursive") is not None:
        return False
    target = statement.targets[0].id
    reads = [n.id for n in ast.walk(value) if isinstance(n, ast.Name)
             and not (isinstance(value, ast.Call) and n is _base_name(value.func))]
    return target in function.synthetic and stores.get(target) == 1 and all(
        stores.get(name, 0) <= 1 for name in reads)


def _base_name(func):
    while isinstance(func, ast.Attribute):
        func = func.value
    return func


def _renamed(value, copies):
    """``value`` with operands that are copies replaced by what they copy."""
    if not copies:
        return value
    import copy
    value = copy.deepcopy(value)
    for node in ast.walk(value):
        if isinstance(node, ast.Name) and node.id in copies:
            node.id = copies[node.id]
    return value
