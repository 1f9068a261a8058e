"""Optimization of the three-address form: reuse repeated computations.

Contract: takes a lowered ``ir.Function`` and returns one where a top-level temporary
that applies the same primitive to the same operands as an earlier top-level statement
is dropped, and its uses read that statement's result instead.
Only single-valued operands qualify (``dataflow.Facts``: one definition, a parameter
counting as one, outside every loop), so both computations see the same values; only
rule primitives and non-differentiable builtins qualify (pure), never
calls to user functions kept as calls (recursion, ``srcdiff.nondifferentiable``: they
may count their calls or draw random numbers). The second computation would raise
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
    div = a / mul
    b = div - sqrt_1
    return b
"""

from __future__ import annotations

import ast
from typing import Hashable, TypeGuard

from ..analyse import ITERATORS
from ..dataflow import Facts
from ..ir import Function, copy_tree, dump_key, get_anno, name_id, walk_code


def eliminate_common_subexpressions(function: Function) -> Function:
    args = function.args
    facts = Facts(function.body, [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs])
    seen: dict[Hashable, str] = {}  # the primitive, printed with its operands -> its result
    copies: dict[str, str] = {}  # a temporary replaced by a copy -> the earlier result
    body = []
    for statement in function.body:
        statement = _renamed(statement, copies)
        if _candidate(statement, function, facts):
            key = dump_key(statement.value)  # equal exactly when the dumps are
            target = name_id(statement.targets[0])
            if key in seen:
                copies[target] = seen[key]  # later reads of target read the first result
                continue
            seen[key] = target
        body.append(statement)
    def read(atom: ast.expr) -> ast.expr:
        if isinstance(atom, ast.Name) and atom.id in copies:
            return ast.Name(copies[atom.id], ast.Load())
        return atom
    output = function.output
    output = ast.Tuple([read(e) for e in output.elts], ast.Load()) \
        if isinstance(output, ast.Tuple) else read(output)
    return function.replace(body=body, output=output)


def _candidate(statement: ast.stmt, function: Function, facts: Facts) -> TypeGuard[ast.Assign]:
    if not isinstance(statement, ast.Assign) or not isinstance(statement.targets[0], ast.Name):
        return False
    value = statement.value
    if not isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Compare)):
        return False
    if isinstance(value, ast.Call) and (get_anno(value, "recursive") is not None or hasattr(
            get_anno(value, "callee"), "__srcdiff_returns__")):
        return False  # recursion; a user function marked nondifferentiable may be impure
    if isinstance(value, ast.Call) and get_anno(value, "callee") in ITERATORS:
        return False  # zip(a, b) twice is two iterators: the first loop consumes its own
    target = statement.targets[0].id
    reads = [n.id for n in walk_code(value) if isinstance(n, ast.Name)
             and not (isinstance(value, ast.Call) and n is _base_name(value.func))]
    return target in function.synthetic and facts.single_valued(target) and all(
        facts.single_valued(name) for name in reads)


def _base_name(func: ast.expr) -> ast.expr:
    while isinstance(func, ast.Attribute):
        func = func.value
    return func


def _renamed(statement: ast.stmt, copies: dict[str, str]) -> ast.stmt:
    """``statement`` reading the first result wherever it read a dropped duplicate."""
    if not copies or not any(isinstance(n, ast.Name) and n.id in copies
                             for n in walk_code(statement)):
        return statement
    statement = copy_tree(statement)
    for node in walk_code(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in copies:
            node.id = copies[node.id]
    return statement
