"""Optimisation pass (code of numbers; and ``fuse_arrays``, below, for gradients of
arrays): temporaries read once are written into the expression that reads them.

Three-address code names every intermediate value; CPython then pays a store and a load
for each. In a function of numbers, an assignment ``t = e`` of a synthetic variable,
where ``e`` is arithmetic that cannot raise (names, numbers, ``+``, ``-``, ``*``, unary
minus), is replaced by ``e`` at the next statement of its block that reads ``t``, when
that statement reads ``t`` once and ``t`` is dead after it (``_Occurrences``, or
``dataflow.Liveness`` in code with ``break`` or ``continue``): no
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
import bisect
import copy
from collections import Counter
from collections.abc import Collection, Iterable
from typing import cast

from ..dataflow import COMPOUND, LOOPS, Liveness, names, reads, statements_of, targets
from ..ir import Function, copy_tree, get_anno, name_id, walk_code

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
    loads, stores = names(ast.Module(function.body, []))
    read, written = Counter(loads), Counter(stores)
    # assigned once and read once: dead after that read (which follows the assignment
    # in its block), with no analysis; the others are asked of liveness, if any of them
    # is assigned arithmetic that could be written in
    once = {n for n in candidates if read[n] == 1 and written[n] == 1}
    others = {n for n in candidates - once if read[n] and written[n]}
    everything = statements_of(function.body)
    if not any(type(s) is ast.Assign and len(s.targets) == 1 and type(s.targets[0]) is ast.Name
               and s.targets[0].id in others and _pure(s.value) for s in everything):
        others = set()
    if not once and not others:
        return function
    live: dict[int, set[str]] = {}
    if others:
        # the names each simple statement reads: which are live after it, asked once
        watch: dict[int, set[str]] = {}
        for statement in everything:
            if type(statement) in _SITES:
                asked = others.intersection(reads(statement))
                if asked:
                    watch[id(statement)] = asked
        if any(type(s) is ast.Break or type(s) is ast.Continue for s in everything):
            live = Liveness(function.body, set(), watch=watch).after
        else:
            live = _Occurrences(function.body).live_after(watch)
    changed = [False]
    body = _block(function.body, once | others, once, live, changed)
    return function.replace(body=body) if changed[0] else function


class _Occurrences:
    """Which statements of each block mention each name, to answer "is this name dead
    after this statement" by looking ahead, in code without ``break`` and ``continue``
    (where control leaves a block only at its end): a full liveness analysis solves every
    loop to a fixed point, and costs about a tenth of generating a long loop.

    After a statement, ``t``'s value is dead when, looking ahead, it is assigned
    (``t = e``, ``e`` not reading ``t``) on every path before anything reads it. A later
    statement of the block decides when it mentions ``t``: a simple one by being that
    assignment or not; a branch by its test (a read) and its two blocks, each looked at
    the same way (both assign: dead; one reads: live; else the value may pass by and
    the statements after decide); a loop by its header (a read), its body (it may run no
    time: only a read decides) and its ``else`` clause (which always runs here). When
    the block ends undecided, the value leaves it: from a branch to the statements after
    the ``if``; from a loop's body around the loop too (its header, then its body from
    the start, must not read it first) and on to its ``else`` clause. At the function's
    end nothing reads it. Undecided is taken as live; a path round a loop that decides
    nothing comes back to where it started, and only its way out is left to decide."""

    def __init__(self, body: list[ast.stmt]) -> None:
        self.index: dict[int, dict[str, list[int]]] = {}  # id(block) -> name -> positions
        self.parent: dict[int, tuple[list[ast.stmt], int, ast.stmt]] = {}
        self.where: dict[int, tuple[list[ast.stmt], int]] = {}  # id(simple statement) -> its place
        self.visit(body)

    def visit(self, block: list[ast.stmt]) -> None:
        found: dict[str, list[int]] = {}
        self.index[id(block)] = found
        for position, statement in enumerate(block):
            loads, stores = names(statement)
            for name in set(loads) | set(stores):
                found.setdefault(name, []).append(position)
            if isinstance(statement, COMPOUND):
                for inner in (statement.body, statement.orelse):
                    self.parent[id(inner)] = (block, position, statement)
                    self.visit(inner)
            else:
                self.where[id(statement)] = (block, position)

    def live_after(self, watch: dict[int, set[str]]) -> dict[int, set[str]]:
        return {key: {n for n in asked if not self.dead_after(n, *self.where[key])}
                for key, asked in watch.items() if key in self.where}

    def first(self, name: str, block: list[ast.stmt], start: int = 0) -> bool | None:
        """From ``block[start]`` on: True when ``name`` is assigned before it is read on
        every path, False when it may be read first, None when the block may end with
        neither (the value passes through)."""
        found = self.index[id(block)].get(name, [])
        for position in found[bisect.bisect_left(found, start):]:
            statement = block[position]
            if not isinstance(statement, COMPOUND):
                return _assigns(statement, name)
            if name in _header(statement):
                return False
            if isinstance(statement, ast.If):
                then, other = self.first(name, statement.body), self.first(name, statement.orelse)
                if then is False or other is False:
                    return False
                if then and other:
                    return True
                continue
            if self.first(name, statement.body) is False:  # a loop: it may run no time
                return False
            after = self.first(name, statement.orelse)
            if after is not None:
                return after
        return None

    def dead_after(self, name: str, block: list[ast.stmt], position: int) -> bool:
        while True:
            decided = self.first(name, block, position + 1)
            if decided is not None:
                return decided
            outer = self.parent.get(id(block))
            if outer is None:
                return True  # the function's end
            enclosing, at, compound = outer
            if isinstance(compound, LOOPS) and block is compound.body:
                # around the loop: the header, then the body from its start (a path on
                # which it decides nothing comes round again, or leaves), or the end
                if name in _header(compound) or self.first(name, block) is False:
                    return False
                decided = self.first(name, compound.orelse)
                if decided is not None:
                    return decided
            block, position = enclosing, at


def _header(statement: ast.stmt) -> list[str]:
    """The names a compound statement's own parts mention: an ``if``'s or ``while``'s
    test, a ``for``'s target and iterable."""
    if isinstance(statement, ast.For):
        return [n for part in (statement.target, statement.iter) for n in sum(names(part), [])]
    return sum(names(cast("ast.If | ast.While", statement).test), [])


def _assigns(statement: ast.stmt, name: str) -> bool:
    """Whether ``statement`` is ``name = e`` with ``e`` not reading ``name``."""
    return type(statement) is ast.Assign and len(statement.targets) == 1 \
        and type(statement.targets[0]) is ast.Name and statement.targets[0].id == name \
        and name not in reads(statement.value)


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


def _block(statements: list[ast.stmt], candidates: set[str], once: set[str],
           live: dict[int, set[str]], changed: list[bool]) -> list[ast.stmt]:
    """``candidates``: the names that may be written into their reader; ``once``: those
    dead after their one read; ``live``: for each statement reading others, those of them
    live after it (none is dead after a statement missing here, but a ``return``)."""
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
                statement.body = _block(statement.body, candidates, once, live, changed)
                statement.orelse = _block(statement.orelse, candidates, once, live, changed)
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
                dead = name in once or (after is not None and name not in after)
                if value is not None and loads[name] == 1 and dead and not (
                        type(statement) is ast.AugAssign and name_id(statement.target) == name):
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
            value = _Substitute({name_id(previous.targets[0]): previous.value}) \
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
