"""Optimization pass: algebraic simplification of the backward sweep (and of tangents).

Adjoint statements that propagation rewrote are rebuilt through the algebra of
``srcdiff.expr`` (``1.0 * e`` -> ``e``, ``0 * e`` -> ``0``, ``a * (1 / b)`` -> ``a / b``); the
reverse pass builds the others already simplified. The user's own statements are never
simplified.
"""

from __future__ import annotations

import ast
import copy

from ..expr import Code, Value, add, div, mul, neg, node_of, power, select, sub, wrap
from ..ir import Function, copy_tree, differs, get_anno, set_anno, unparse


def simplify(function: Function) -> Function:
    adjoints = function.namer.derivatives()  # adjoints and tangents
    namer = function.namer
    # derivatives of variables that may be arrays: folding one to a number (0.0 * e -> 0.0)
    # would lose the shape the rules after it need (numpy.concatenate's pieces)
    arrays = {d for v, d in [*namer.adjoints.items(), *namer.tangents.items()]
              if getattr(function.kinds.get(v), "is_array", False)}
    return function.replace(body=_simplify_block(function.body, adjoints, arrays))


def _simplify_block(statements: list[ast.stmt], adjoints: set[str],
                    arrays: frozenset[str] | set[str] = frozenset()) -> list[ast.stmt]:
    """Adjoint statements that propagation rewrote (the reverse pass builds the others
    already simplified) are rebuilt through the algebra of ``expr``."""
    body: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, (ast.Assign, ast.AugAssign)) and _target(statement) in adjoints \
                and get_anno(statement, "substituted"):
            set_anno(statement, "substituted", False)
            rebuilt = rebuild(statement.value)
            if isinstance(rebuilt, (int, float)) and _target(statement) in arrays:
                body.append(statement)  # a zero of the array's shape: left as computed
                continue
            if isinstance(rebuilt, (int, float)) and not isinstance(rebuilt, bool):
                rebuilt = float(rebuilt)  # an adjoint is a float: 0.0, not the 0 of b * 0
            simplified = node_of(rebuilt)
            if unparse(simplified) != unparse(statement.value):
                statement = copy_tree(statement)
                statement.value = simplified
            if _does_nothing(statement):
                continue
        elif isinstance(statement, (ast.If, ast.For, ast.While)):
            inner = _simplify_block(statement.body, adjoints, arrays)
            orelse = _simplify_block(statement.orelse, adjoints, arrays)
            if differs(inner, statement.body) or differs(orelse, statement.orelse):
                statement = copy.copy(statement)  # a new node only when something changed
                statement.body, statement.orelse = inner, orelse
        body.append(statement)
    return body


_BUILD = {ast.Add: add, ast.Sub: sub, ast.Mult: mul, ast.Div: div, ast.Pow: power}


def rebuild(node: ast.expr) -> Value:
    """``node`` rebuilt bottom-up through the simplifying constructors of ``expr``."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BUILD:
        return _BUILD[type(node.op)](rebuild(node.left), rebuild(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return neg(rebuild(node.operand))
    if isinstance(node, ast.IfExp):
        return select(Code(node.test), rebuild(node.body), rebuild(node.orelse))
    return wrap(node)


def _does_nothing(statement: ast.Assign | ast.AugAssign) -> bool:
    """``b = b`` and ``b += 0``: an adjoint left as it was."""
    if isinstance(statement, ast.AugAssign):
        return isinstance(statement.op, (ast.Add, ast.Sub)) and wrap(statement.value) == 0
    return isinstance(statement.value, ast.Name) and statement.value.id == _target(statement)


def _target(statement: ast.Assign | ast.AugAssign) -> str | None:
    target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
    return target.id if isinstance(target, ast.Name) else None
