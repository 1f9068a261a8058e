"""Optimization pass: adjoint resets that cancel.

In a loop's backward sweep, ``y = y + e`` (computed into a temporary ``t``, then copied
back) becomes ``b_t = b_y; b_y = 0.0; ...; b_y += b_t``: ``b_y`` ends as it started. The
pass keeps ``b_t = b_y`` only.
"""

from __future__ import annotations

import ast
import copy

from .ir import COMPOUND, Function


def fold_resets(function: Function) -> Function:
    """``t = b; b = 0.0; ...; b += t`` with nothing between reading or writing ``b`` or
    ``t`` leaves ``b`` as it was: keep ``t = b`` only. The reverse pass writes this
    for ``y = y + e`` in a loop (computed into a temporary, then copied back)."""
    adjoints = set(function.namer.adjoints.values())
    body = _fold_block(function.body, adjoints)
    return function if body is function.body else function.replace(body=body)


def _fold_block(statements: list, adjoints: set) -> list:
    result, changed = [], False
    for statement in statements:
        if isinstance(statement, COMPOUND):
            new = copy.copy(statement)
            new.body = _fold_block(statement.body, adjoints)
            new.orelse = _fold_block(statement.orelse, adjoints)
            if new.body is not statement.body or new.orelse is not statement.orelse:
                statement, changed = new, True
        result.append(statement)
    i = 0
    while i + 2 < len(result):
        first, reset = result[i], result[i + 1]
        if _is_copy_of_adjoint(first, adjoints) and _assigns_zero(reset, first.value.id):
            saved, adjoint = first.targets[0].id, first.value.id
            for k in range(i + 2, len(result)):
                later = result[k]
                if _adds(later, adjoint, saved):
                    del result[k], result[i + 1]
                    changed = True
                    break
                if isinstance(later, COMPOUND) or any(
                        isinstance(n, ast.Name) and n.id in (saved, adjoint)
                        for n in ast.walk(later)):
                    break
        i += 1
    return result if changed else statements


def _is_copy_of_adjoint(statement, adjoints) -> bool:
    return isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) \
        and isinstance(statement.value, ast.Name) and statement.value.id in adjoints


def _assigns_zero(statement, name: str) -> bool:
    return isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) \
        and statement.targets[0].id == name and isinstance(statement.value, ast.Constant) \
        and statement.value.value == 0


def _adds(statement, adjoint: str, saved: str) -> bool:
    """``adjoint += saved`` or ``adjoint = adjoint + saved``."""
    if isinstance(statement, ast.AugAssign) and isinstance(statement.op, ast.Add):
        return isinstance(statement.target, ast.Name) and statement.target.id == adjoint \
            and isinstance(statement.value, ast.Name) and statement.value.id == saved
    if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) \
            and statement.targets[0].id == adjoint and isinstance(statement.value, ast.BinOp) \
            and isinstance(statement.value.op, ast.Add):
        left, right = statement.value.left, statement.value.right
        return isinstance(left, ast.Name) and left.id == adjoint \
            and isinstance(right, ast.Name) and right.id == saved
    return False
