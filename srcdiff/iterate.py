"""Stage 3½, iterate: loops over arrays become loops over positions.

Contract: takes a lowered ``ir.Function`` and the kinds of its variables
(``analyse.infer_kinds``) and returns one where every ``for`` loop over a NumPy array
reads the array by position instead: ``for v in X`` becomes ``loop_over_X = X`` and ``for i in
range(len(loop_over_X))`` with ``v = loop_over_X[i]`` first in the body; ``for i, v in enumerate(X)`` (and ``enumerate(X, start)``: ``i`` over ``range(start, start + len(X))``, ``v = X[i - start]``) and ``for a, b in
zip(X, Y)`` (arrays only) likewise. Iterating over an array yields its rows, ``X[i]``, in
order, so the loop computes the same; but ``X[i]`` is an indexing the backward sweep
differentiates (its adjoint scatters into ``X``'s), where iterating over a value that
depends on ``wrt`` is refused. Only arrays the function is given or computes: loops over
anything else (a range, a tuple, a list, a generator, a global) are left as they are.

>>> import numpy as np
>>> from srcdiff.kinds import array
>>> from srcdiff.parse import parse
>>> from srcdiff.normalize import normalize
>>> from srcdiff.lower import lower
>>> from srcdiff.analyse import infer_kinds
>>> def f(X):
...     s = 0.0
...     for i, row in enumerate(X):
...         s = s + i * np.sum(row)
...     return s
>>> lowered = lower(normalize(parse(f)))
>>> print(index_loops(lowered, infer_kinds(lowered, {"X": array(2)})).source())
def f(X):
    s = 0.0
    loop_over_X = X
    length = len_1(loop_over_X)
    for i in range_1(length):
        row = loop_over_X[i]
        sum_1 = np.sum(row)
        mul = i * sum_1
        add = s + mul
        s = add
    return s
"""

from __future__ import annotations

import ast
import builtins
import copy
import types
from typing import TypeVar, cast

from .ir import Function, get_anno, name_id, set_anno
from .kinds import SCALAR, Kind

_N = TypeVar("_N", bound=ast.AST)


def index_loops(function: Function, kinds: dict[str, Kind]) -> Function:
    # Only arrays the function computes or is given: a loop over a global (a tuple of
    # constants, a data array) can never carry a derivative and stays as written.
    args = function.args
    local = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    local |= {n.id for s in function.body for n in ast.walk(s)
              if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    kinds = {name: kind for name, kind in kinds.items() if name in local}
    changed: list[ast.For] = []  # the loops rewritten
    body = _block(function, function.body, kinds, changed)
    return function.replace(body=body) if changed else function


def _block(function: Function, statements: list[ast.stmt], kinds: dict[str, Kind],
           changed: list[ast.For]) -> list[ast.stmt]:
    result: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, (ast.If, ast.While, ast.For)):
            statement = copy.copy(statement)  # the input function stays as it was
        if isinstance(statement, ast.If):
            statement.body = _block(function, statement.body, kinds, changed)
            statement.orelse = _block(function, statement.orelse, kinds, changed)
        elif isinstance(statement, ast.While):
            statement.body = _block(function, statement.body, kinds, changed)
        elif isinstance(statement, ast.For):
            statement.body = _block(function, statement.body, kinds, changed)
            rewritten = _rewrite(function, statement, kinds)
            if rewritten is not None:
                result += rewritten
                changed.append(statement)
                continue
        result.append(statement)
    return result


def _is_array(node: ast.expr, kinds: dict[str, Kind]) -> bool:
    return isinstance(node, ast.Name) and kinds.get(node.id, SCALAR).is_array


def _rewrite(function: Function, loop: ast.For, kinds: dict[str, Kind]) -> list[ast.stmt] | None:
    """The statements replacing ``loop``, or None to leave it."""
    iterable, target = loop.iter, loop.target
    # names only (``_is_array``, the targets' test)
    arrays: list[ast.expr] | None = None
    position: ast.expr | None = None
    start: ast.expr | None = None  # enumerate's, where given
    parts: list[ast.expr]
    nested = _enumerated_zip(iterable, target)
    backward = False  # reversed(X): by position from the last
    if _is_array(iterable, kinds) and isinstance(target, ast.Name):
        arrays, parts = [iterable], [target]
    elif isinstance(iterable, ast.Call) and get_anno(iterable, "callee") is reversed and \
            len(iterable.args) == 1 and not iterable.keywords and \
            _is_array(iterable.args[0], kinds) and isinstance(target, ast.Name):
        arrays, parts, backward = [iterable.args[0]], [target], True
    elif nested is not None:  # for i, (a, b) in enumerate(zip(A, B)) (lower keeps the zip)
        zipped = cast(ast.Call, nested.args[0]).args
        keywords = {k.arg: k.value for k in nested.keywords}
        inner = cast(ast.Tuple, cast(ast.Tuple, target).elts[1]).elts
        if all(_is_array(a, kinds) for a in zipped) and len(inner) == len(zipped) and \
                all(isinstance(t, ast.Name) for t in inner) and \
                isinstance(cast(ast.Tuple, target).elts[0], ast.Name) and \
                len(nested.args) + len(keywords) <= 2 and set(keywords) <= {"start"}:
            arrays, position, parts = zipped, cast(ast.Tuple, target).elts[0], inner
            start = nested.args[1] if len(nested.args) > 1 else keywords.get("start")
        else:  # not arrays: the zip into a temporary of its own, as lower writes other
            # calls, and ``for i, item in enumerate(zipped)`` with ``a = item[0]`` ... first
            zipped_name, item = _fresh(function, "zip"), _fresh(function, "item")
            outer = cast(ast.Tuple, target).elts
            new_loop = copy.copy(loop)
            new_loop.iter = copy.copy(nested)
            new_loop.iter.args = [ast.Name(zipped_name, ast.Load())] + nested.args[1:]
            new_loop.target = _locate(ast.Tuple([outer[0], ast.Name(item, ast.Store())],
                                                 ast.Store()), loop)
            new_loop.body = [_assign(name_id(part), ast.Subscript(
                ast.Name(item, ast.Load()), ast.Constant(k), ast.Load()), loop)
                for k, part in enumerate(cast(ast.Tuple, outer[1]).elts)] + loop.body
            return [_assign(zipped_name, nested.args[0], loop), new_loop]
    elif isinstance(iterable, ast.Call) and isinstance(target, ast.Tuple) and \
            all(isinstance(t, ast.Name) for t in target.elts):
        callee = get_anno(iterable, "callee")
        args = iterable.args
        keywords = {k.arg: k.value for k in iterable.keywords}
        if callee is enumerate and len(args) + len(keywords) <= 2 and set(keywords) <= {"start"} \
                and len(args) >= 1 and _is_array(args[0], kinds) and len(target.elts) == 2:
            arrays, position, parts = args[:1], target.elts[0], target.elts[1:]
            start = args[1] if len(args) > 1 else keywords.get("start")
        elif callee is zip and args and all(_is_array(a, kinds) for a in args) \
                and len(target.elts) == len(args) and not keywords:
            arrays, parts = args, target.elts
    if arrays is None:
        return None
    before = []
    lengths = []
    iterated: list[ast.expr] = []
    for array in arrays:
        # the array the loop started with: the body may bind the name to another
        # (``check_sharing`` refuses changing it in place while the loop reads it)
        sequence = _fresh(function, f"loop_over_{name_id(array)}")
        before.append(_assign(sequence, ast.Name(name_id(array), ast.Load()), loop))
        iterated.append(ast.Name(sequence, ast.Load()))
        length = _fresh(function, "length")
        before.append(_assign(length, _call(function, "len", ast.Name(sequence, ast.Load())), loop))
        lengths.append(length)
    arrays = iterated
    count = lengths[0]
    for other in lengths[1:]:  # zip stops at the shortest
        shortest = _fresh(function, "length")
        before.append(_assign(shortest, _call(function, "min", ast.Name(count, ast.Load()),
                                              ast.Name(other, ast.Load())), loop))
        count = shortest
    counted: list[ast.Assign] = []
    bounds: list[ast.expr] = [ast.Name(count, ast.Load())]
    if backward:  # range(count - 1, -1, -1)
        last = _fresh(function, "last")
        before.append(_assign(last, ast.BinOp(ast.Name(count, ast.Load()), ast.Sub(),
                                              ast.Constant(1)), loop))
        bounds = [ast.Name(last, ast.Load()), ast.Constant(-1), ast.Constant(-1)]
    if start is not None and position is not None:
        # enumerate(X, start): the index runs over range(start, start + count) (which
        # raises where enumerate would: a start that is not an integer), the row read at
        # index - start; start is read once, before the loop, as enumerate reads it
        first, end, offset = (_fresh(function, base) for base in ("start", "end", "offset"))
        before += [_assign(first, start, loop), _assign(end, ast.BinOp(
            ast.Name(first, ast.Load()), ast.Add(), ast.Name(count, ast.Load())), loop)]
        bounds = [ast.Name(first, ast.Load()), ast.Name(end, ast.Load())]
        counted = [_assign(offset, ast.BinOp(ast.Name(name_id(position), ast.Load()), ast.Sub(),
                                             ast.Name(first, ast.Load())), loop)]
    if position is None:
        position = ast.Name(_fresh(function, "position"), ast.Store())
    index = name_id(counted[0].targets[0]) if counted else name_id(position)
    reads: list[ast.stmt] = list(counted)
    reads += [_assign(name_id(part), ast.Subscript(ast.Name(name_id(array), ast.Load()),
                                                   ast.Name(index, ast.Load()), ast.Load()), loop)
              for array, part in zip(arrays, parts)]
    new = ast.For(ast.Name(name_id(position), ast.Store()),
                  _call(function, "range", *bounds), reads + loop.body, [])
    _locate(new, loop)
    return before + [new]


def _enumerated_zip(iterable: ast.expr, target: ast.expr) -> ast.Call | None:
    """``enumerate(zip(...))`` as lower keeps it for a target ``i, (a, b)``, else None."""
    if isinstance(iterable, ast.Call) and get_anno(iterable, "callee") is enumerate and \
            iterable.args and isinstance(iterable.args[0], ast.Call) and \
            get_anno(iterable.args[0], "callee") is zip and isinstance(target, ast.Tuple) \
            and len(target.elts) == 2 and isinstance(target.elts[1], ast.Tuple):
        return iterable
    return None


def _fresh(function: Function, base: str) -> str:
    name = function.namer.fresh(base)
    function.synthetic.add(name)
    return name


def _call(function: Function, name: str, *args: ast.expr) -> ast.Call:
    """``name(*args)``, ``name`` a builtin, under a name of its own in the generated
    code's closure (``range_1``): a user variable called ``range`` is then neither read
    by the loop nor taken by the analyses for something the loop reads."""
    builtin = getattr(builtins, name)
    bound = function.namer.fresh(name)
    function.parsed.inject(bound, types.CellType(builtin), ("runtime", name))
    call = ast.Call(ast.Name(bound, ast.Load()), list(args), [])
    set_anno(call, "callee", builtin)
    return call


def _assign(target: str, value: ast.expr, like: ast.stmt) -> ast.Assign:
    return _locate(ast.Assign([ast.Name(target, ast.Store())], value), like)


def _locate(node: _N, like: ast.AST) -> _N:
    ast.copy_location(node, like)
    where = get_anno(like, "where")
    if where is not None:
        set_anno(node, "where", where)
    return node
