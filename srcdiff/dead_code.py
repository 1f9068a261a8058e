"""Optimization pass: dead-code elimination.

Assignments nobody reads are dropped, unless they compute a primitive that can raise
(``math.log``, ``/``...): those stay, so the gradient fails where the function fails
instead of returning a number where it is undefined. At the top level a value is dead
when nothing later reads it; inside loops and branches (where a loop may read a value
before it is assigned again) when nothing anywhere reads it.
"""

from __future__ import annotations

import ast
import copy

from .analyse import cannot_raise
from .ir import COMPOUND, Function


def eliminate_dead_code(function: Function) -> Function:
    """Top-level assignments nobody reads later go; inside compound statements (where a
    loop may read a value before it is assigned again), assignments to a variable that
    nothing reads anywhere go. An assignment that may raise stays either way."""
    # kinds matter only for array code (NumPy reports errors on arrays as nan)
    kinds = function.kinds if any(k.is_array for k in function.kinds.values()) else None
    body = function.body
    if any(isinstance(s, COMPOUND) for s in body):
        read = {n.id for s in body for n in ast.walk(s)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        body = [_without_unread(s, read, kinds) if isinstance(s, COMPOUND) else s
                for s in body]
    live: set[str] = set()
    kept = []
    for statement in reversed(body):
        if isinstance(statement, (ast.Assign, ast.AugAssign)) and not (
                isinstance(statement, ast.Assign) and not isinstance(statement.targets[0], ast.Name)):
            target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
            if target.id not in live and (
                    isinstance(statement, ast.AugAssign) or cannot_raise(statement.value, kinds)):
                continue
            if isinstance(statement, ast.Assign):
                live.discard(target.id)
        live |= {n.id for n in ast.walk(statement)
                 if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if isinstance(statement, ast.AugAssign):
            live.add(statement.target.id)
        kept.append(statement)
    return function.replace(body=kept[::-1])


def _without_unread(statement, read: set, kinds: dict):
    """``statement`` (a compound) without the assignments, at any depth, to variables
    never read; the same node when there are none."""
    changed = False
    new = copy.copy(statement)
    for field in ("body", "orelse"):
        block = []
        for inner in getattr(statement, field):
            if isinstance(inner, ast.Assign) and isinstance(inner.targets[0], ast.Name) \
                    and inner.targets[0].id not in read and cannot_raise(inner.value, kinds):
                changed = True
                continue
            if isinstance(inner, COMPOUND):
                replaced = _without_unread(inner, read, kinds)
                changed |= replaced is not inner
                inner = replaced
            block.append(inner)
        if field == "body" and not block:
            block = [ast.Pass()]
        setattr(new, field, block)
    return new if changed else statement
