"""Optimisation pass (code of numbers): temporaries read once are written into the
expression that reads them.

Three-address code names every intermediate value; CPython then pays a store and a load
for each. In a function of numbers, an assignment ``t = e`` of a synthetic variable,
where ``e`` is arithmetic that cannot raise (names, numbers, ``+``, ``-``, ``*``, unary
minus), is replaced by ``e`` at the next statement of its block that reads ``t``, when
that statement reads ``t`` once and ``t`` is dead after it (``dataflow.Liveness``): no
other statement ever sees the value, and ``e`` reads the same values there, since no
statement in between assigns a name it reads (the pass writes ``t = e`` back before such
a statement, and before any loop, branch or statement other than an assignment, an
expression or a return). Computing pure arithmetic later changes nothing else: the same
operations on the same values, in the same order within ``e``, give the same bits.
Functions that may hold NumPy values are left alone: their arithmetic may raise (shapes
that do not broadcast) and is not cheap enough for the store to matter. ``keep`` names
variables left as they are (reverse mode keeps its adjoints: each of their statements
carries the rule it comes from, which readers of the generated code look for).

>>> import ast
>>> from srcdiff.ir import Function, Namer
>>> body = ast.parse('''
... mul = x * y
... d_mul = x * d_y + y * d_x
... s = math.sin(mul)
... d_s = math.cos(mul) * d_mul
... return (s, d_s)
... ''').body
>>> function = Function("f", ast.parse("def f(x, y, d_x, d_y): pass").body[0].args, body,
...                     None, Namer(), synthetic={"mul", "d_mul", "s", "d_s"})
>>> print(fuse(function).source())
def f(x, y, d_x, d_y):
    mul = x * y
    s = math.sin(mul)
    d_s = math.cos(mul) * (x * d_y + y * d_x)
    return (s, d_s)
"""

from __future__ import annotations

import ast
import copy
from collections import Counter
from collections.abc import Collection, Iterable
from typing import cast

from ..dataflow import COMPOUND, Liveness, reads, statements_of, targets
from ..ir import Function, copy_tree, name_id

_PURE_OPERATORS = (ast.Add, ast.Sub, ast.Mult)


def fuse(function: Function, keep: Collection[str] = ()) -> Function:
    from ..adjoints import _may_hold_numpy
    if _may_hold_numpy(function):
        return function
    args = function.args
    parameters = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    candidates = {name for name in function.synthetic
                  if name not in parameters and name not in keep}
    if not candidates:
        return function
    # the candidates each simple statement reads: which are live after it, asked once
    watch: dict[int, set[str]] = {}
    for statement in statements_of(function.body):
        if type(statement) in _SITES:
            read = candidates.intersection(reads(statement))
            if read:
                watch[id(statement)] = read
    if not watch:
        return function
    live = Liveness(function.body, set(), watch=watch).after
    changed = [False]
    body = _block(function.body, candidates, live, changed)
    return function.replace(body=body) if changed[0] else function


# the statements a waiting expression may be written into (and may wait past)
_SITES = (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)


def _pure(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _PURE_OPERATORS) and _pure(node.left) and _pure(node.right)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd)) and _pure(node.operand)
    return False


class _Substitute(ast.NodeTransformer):
    def __init__(self, chosen: dict[str, ast.expr]) -> None:
        self.chosen = chosen

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and node.id in self.chosen:
            return self.chosen.pop(node.id)
        return node


def _block(statements: list[ast.stmt], candidates: set[str], live: dict[int, set[str]],
           changed: list[bool]) -> list[ast.stmt]:
    result: list[ast.stmt] = []
    pending: dict[str, tuple[ast.Assign, ast.expr]] = {}  # name -> (its statement, its expression), in program order

    def write_back(names: Iterable[str] | None = None) -> None:
        for name in list(pending):
            if names is None or name in names:
                statement, value = pending.pop(name)
                statement = copy.copy(statement)
                statement.value = value
                result.append(statement)

    for statement in statements:
        if type(statement) not in _SITES:
            write_back()
            if isinstance(statement, COMPOUND):
                statement = copy.copy(statement)
                statement.body = _block(statement.body, candidates, live, changed)
                statement.orelse = _block(statement.orelse, candidates, live, changed)
            result.append(statement)
            continue
        value = cast("ast.expr | None", statement.value)  # type: ignore[attr-defined]
        if pending:
            loads = Counter(reads(statement))
            after = live.get(id(statement))
            if type(statement) is ast.Return:
                after = set()
            chosen = {}
            for name in list(pending):
                if loads[name] == 0:
                    continue
                if value is not None and loads[name] == 1 and after is not None \
                        and name not in after and not (type(statement) is ast.AugAssign
                                                       and name_id(statement.target) == name):
                    chosen[name] = pending.pop(name)[1]
                else:
                    write_back([name])
            if chosen:
                assert value is not None
                value = _Substitute(chosen).visit(copy_tree(value))
                assert not chosen  # each was read once
                changed[0] = True
                statement = copy.copy(statement)
                statement.value = value  # type: ignore[attr-defined]
        if type(statement) is ast.Return:
            write_back()
            result.append(statement)
            continue
        assigned = set(targets(statement))
        # an expression waiting to be written in reads a name assigned here: write it now
        write_back({name for name, (_, waiting) in pending.items()
                    if name in assigned or not assigned.isdisjoint(reads(waiting))})
        if type(statement) is ast.Assign and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name) and target.id in candidates and value is not None \
                    and _pure(value):
                pending[target.id] = (statement, value)
                continue
        result.append(statement)
    write_back()
    return result
