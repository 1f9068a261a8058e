"""Optimisation pass (forward mode, numbers only; and ``fuse_arrays``, below, for
gradients of arrays): temporaries read once are written into the expression that reads
them.

Three-address code names every intermediate value; CPython then pays a store and a load
for each. In a function of numbers, a synthetic variable ``t = e`` that is assigned once
and read once, where ``e`` is arithmetic that cannot raise (names, numbers, ``+``, ``-``,
``*``, unary minus), is replaced at its read by ``e`` itself: ``e`` reads the same values
there, since no statement in between assigns a name it reads (the pass writes ``t = e``
back before such a statement, and before any loop, branch or statement other than an
assignment or a return), and computing pure arithmetic later or earlier changes nothing
else. Functions that may hold NumPy values are left alone: their arithmetic may raise
(shapes that do not broadcast) and is not cheap enough for the store to matter.

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
from collections.abc import Iterable

from ..dataflow import COMPOUND
from ..ir import Function, copy_tree, get_anno, name_id, walk_code

_PURE_OPERATORS = (ast.Add, ast.Sub, ast.Mult)


def fuse(function: Function) -> Function:
    from ..adjoints import _may_hold_numpy
    if _may_hold_numpy(function):
        return function
    stores: Counter[str] = Counter()
    loads: Counter[str] = Counter()
    for node in walk_code(ast.Module(function.body, [])):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores)[node.id] += 1
    args = function.args
    parameters = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    once = {name for name in function.synthetic
            if stores[name] == 1 and loads[name] == 1 and name not in parameters}
    if not once:
        return function
    changed = [False]
    body = _block(function.body, once, changed)
    return function.replace(body=body) if changed[0] else function


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
    def __init__(self, pending: dict[str, tuple[ast.Assign | ast.Return, ast.expr]]) -> None:
        self.pending = pending

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and node.id in self.pending:
            return self.pending.pop(node.id)[1]
        return node


def _block(statements: list[ast.stmt], once: set[str], changed: list[bool]) -> list[ast.stmt]:
    result: list[ast.stmt] = []
    pending: dict[str, tuple[ast.Assign | ast.Return, ast.expr]] = {}  # name -> (its statement, its expression), in program order

    def write_back(names: Iterable[str] | None = None) -> None:
        for name in list(pending):
            if names is None or name in names:
                statement, value = pending.pop(name)
                statement = copy.copy(statement)
                statement.value = value
                result.append(statement)

    for statement in statements:
        if isinstance(statement, COMPOUND) or not isinstance(statement, (ast.Assign, ast.Return)):
            write_back()
            if isinstance(statement, COMPOUND):
                statement = copy.copy(statement)
                statement.body = _block(statement.body, once, changed)
                statement.orelse = _block(statement.orelse, once, changed)
            result.append(statement)
            continue
        if statement.value is not None:
            before = len(pending)
            value = _Substitute(pending).visit(copy_tree(statement.value))
            if len(pending) != before:
                changed[0] = True
                statement = copy.copy(statement)
                statement.value = value
        if isinstance(statement, ast.Return):
            write_back()
            result.append(statement)
            continue
        assigned = {n.id for target in statement.targets for n in ast.walk(target)
                    if isinstance(n, ast.Name)}
        # an expression waiting to be written in reads a name assigned here: write it now
        write_back({name for name, (_, value) in pending.items()
                    if any(isinstance(n, ast.Name) and n.id in assigned for n in ast.walk(value))
                    or name in assigned})
        target = statement.targets[0]
        if len(statement.targets) == 1 and isinstance(target, ast.Name) and \
                target.id in once and _pure(statement.value):
            pending[target.id] = (statement, statement.value)
            continue
        result.append(statement)
    write_back()
    return result


def fuse_arrays(function: Function) -> Function:
    """Gradient code of arrays (reverse mode): a temporary array of the forward sweep read
    once, by the next statement, is written into it (``power = scaled ** 2`` then
    ``sum_3 = numpy.sum(power, axis=2)`` is ``sum_3 = numpy.sum(scaled ** 2, axis=2)``),
    so that it is freed as soon as it is read, as in the program as written: a large
    temporary held to the end of the gradient costs memory, and page faults where the
    allocator gives the memory back in between calls. The reader is three-address code
    (names and constants apart from the temporary), so its operands are evaluated in the
    same order and nothing else runs in between: whatever the temporary's computation
    raises, it raises at the same point. Statements of the backward sweep stay as they
    are (their temporaries are few and nested adjoints read badly)."""
    from ..adjoints import _may_hold_numpy
    if not _may_hold_numpy(function):
        return function
    stores: Counter[str] = Counter()
    loads: Counter[str] = Counter()
    for node in walk_code(ast.Module(function.body, [])):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores)[node.id] += 1
    body: list[ast.stmt] = []
    changed = False
    for statement in function.body:
        previous = body[-1] if body else None
        if isinstance(previous, ast.Assign) and isinstance(statement, ast.Assign) and \
                _temporary(previous, function, stores, loads) and \
                not get_anno(statement, "grad_of") and \
                _atoms_but(statement.value, name_id(previous.targets[0])):
            value = _Substitute({name_id(previous.targets[0]): (previous, previous.value)}) \
                .visit(copy_tree(statement.value))
            statement = copy.copy(statement)
            statement.value = value
            body[-1] = statement
            changed = True
            continue
        body.append(statement)
    return function.replace(body=body) if changed else function


def _temporary(statement: ast.Assign, function: Function, stores: Counter[str],
               loads: Counter[str]) -> bool:
    """A synthetic array of the forward sweep, assigned once and read once."""
    if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name) or \
            get_anno(statement, "grad_of") or isinstance(statement.value, (ast.Name, ast.Constant)):
        return False
    name = statement.targets[0].id
    kind = function.kinds.get(name)
    return name in function.synthetic and stores[name] == 1 and loads[name] == 1 and \
        kind is not None and kind.is_array


def _atoms_but(value: ast.expr, name: str) -> bool:
    """Whether ``value`` is one operation of names and constants that reads ``name``."""
    def atom(node: ast.expr | None) -> bool:
        if node is None or isinstance(node, (ast.Name, ast.Constant)):
            return True
        if isinstance(node, (ast.Tuple, ast.List)):
            return all(atom(e) for e in node.elts)
        if isinstance(node, ast.Slice):
            return atom(node.lower) and atom(node.upper) and atom(node.step)
        return False

    def dotted(node: ast.expr) -> bool:
        return isinstance(node, ast.Name) or (isinstance(node, ast.Attribute) and dotted(node.value))

    if isinstance(value, ast.Call):
        operands = [*value.args, *(k.value for k in value.keywords)]
        shaped = dotted(value.func) and all(atom(o) for o in operands)
    elif isinstance(value, ast.BinOp):
        operands, shaped = [value.left, value.right], atom(value.left) and atom(value.right)
    elif isinstance(value, ast.UnaryOp):
        operands, shaped = [value.operand], atom(value.operand)
    elif isinstance(value, ast.Compare):
        operands = [value.left, *value.comparators]
        shaped = all(atom(o) for o in operands)
    elif isinstance(value, ast.Subscript):
        operands, shaped = [value.value, value.slice], atom(value.value) and atom(value.slice)
    elif isinstance(value, ast.Attribute):
        operands, shaped = [value.value], atom(value.value)
    else:
        return False
    return shaped and any(isinstance(n, ast.Name) and n.id == name
                          for o in operands for n in walk_code(o))
