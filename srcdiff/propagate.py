"""Optimization pass: copy and constant propagation.

* ``propagate``: at the top level, a synthetic variable (a temporary or an adjoint)
  assigned once from a name or a number is replaced by that name or number
  (``b_g = b_h`` with ``b_h = 1.0``);
* ``propagate_in_loops``: inside loops and branches, a copy ``t = b`` of a temporary read
  only by later statements of the same block, before ``b`` changes, is replaced by ``b``.

Each pass takes an ``ir.Function`` and returns it unchanged (the same object) or a new one.
"""

from __future__ import annotations

import ast
import collections
import copy

from .expr import wrap
from .ir import COMPOUND, Function, set_anno


def _assignment_counts(body) -> collections.Counter:
    """How often each name is bound, anywhere (loop targets count as repeated)."""
    counts = collections.Counter()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] += 1
            if isinstance(node, (ast.AugAssign, ast.For)):
                target = node.target
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        counts[name.id] += 1
    return counts


def propagate(function: Function) -> Function:
    counts = _assignment_counts(function.body)
    replacements: dict[str, ast.expr] = {}
    body = []
    for statement in function.body:
        statement = _substitute(statement, replacements)
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            target, value = statement.targets[0].id, statement.value
            is_number = isinstance(wrap(value), (int, float))
            is_stable_name = isinstance(value, ast.Name) and counts[value.id] <= 1
            if target in function.synthetic and counts[target] == 1 and (
                    is_number or is_stable_name):
                replacements[target] = value
                continue
        body.append(statement)
    return function.replace(body=body)


class _Substitute(ast.NodeTransformer):
    def __init__(self, replacements):
        self.replacements = replacements

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.replacements:
            return ast.copy_location(_copy(self.replacements[node.id]), node)
        return node


def _copy(node):
    return copy.deepcopy(node)


def _substitute(statement, replacements):
    if not replacements or not any(isinstance(n, ast.Name) and n.id in replacements
                                   for n in ast.walk(statement)):
        return statement
    new = ast.fix_missing_locations(_Substitute(replacements).visit(copy.deepcopy(statement)))
    for node in ast.walk(new):  # what simplify should look at again
        if isinstance(node, ast.stmt):
            set_anno(node, "substituted", True)
    return new


def propagate_in_loops(function: Function) -> Function:
    """Inside compound statements: ``t = b`` where ``t`` is a temporary assigned once and
    read only by later plain statements of the same block, before ``b`` changes: those
    reads read ``b``, and the copy goes."""
    if not any(isinstance(s, COMPOUND) for s in function.body):
        return function
    counts = _assignment_counts(function.body)
    reads = collections.Counter(n.id for s in function.body for n in ast.walk(s)
                                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))
    body = [_propagate_compound(s, function.synthetic, counts, reads)
            if isinstance(s, COMPOUND) else s for s in function.body]
    changed = any(a is not b for a, b in zip(body, function.body))
    return function.replace(body=body) if changed else function


def _propagate_compound(statement, synthetic, counts, reads):
    new = copy.copy(statement)
    changed = False
    for field in ("body", "orelse"):
        block = [_propagate_compound(s, synthetic, counts, reads)
                 if isinstance(s, COMPOUND) else s for s in getattr(statement, field)]
        changed |= any(a is not b for a, b in zip(block, getattr(statement, field)))
        i = 0
        while i < len(block):
            replaced = _propagate_copy(block, i, synthetic, counts, reads)
            if replaced is not None:
                block, changed = replaced, True
            else:
                i += 1
        setattr(new, field, block)
    return new if changed else statement


def _propagate_copy(block, i, synthetic, counts, reads):
    first = block[i]
    if not (isinstance(first, ast.Assign) and isinstance(first.targets[0], ast.Name)
            and isinstance(first.value, ast.Name)):
        return None
    temporary, source = first.targets[0].id, first.value.id
    if temporary not in synthetic or counts[temporary] != 1:
        return None
    found, users = 0, []
    for k in range(i + 1, len(block)):
        later = block[k]
        if isinstance(later, COMPOUND):
            return None  # a read in a nested block, or the source changed there
        names = [n for n in ast.walk(later) if isinstance(n, ast.Name)]
        here = sum(1 for n in names if n.id == temporary and isinstance(n.ctx, ast.Load))
        if here:
            users.append(k)
            found += here
        if found == reads[temporary]:
            break
        if any(n.id == source and isinstance(n.ctx, ast.Store) for n in names) or (
                isinstance(later, ast.AugAssign) and later.target.id == source):
            return None  # the source changes while the copy is still read
    if found != reads[temporary] or not users:
        return None
    result = list(block)
    for k in users:
        result[k] = _substitute(result[k], {temporary: ast.Name(source, ast.Load())})
    del result[i]
    reads[source] += found - 1
    reads[temporary] = 0
    return result
