"""Optimisation pass (gradients of arrays, reverse mode, last): an adjoint that a loop's
backward sweep accumulates item by item is added into in place.

The adjoint of a read ``X[i]`` is ``scatter(g, X, i)``: zeros of ``X``'s shape with ``g``
at ``i``. A loop reading ``X[i]`` on each pass (``for row in X``, ``X[i] @ w``) makes its
backward sweep accumulate ``b_X = b_X + scatter(g, X, i)``: a new array of ``X``'s
size on each pass, so the gradient costs passes × size, quadratic in the rows of ``X``.
This pass writes such a statement ``b_X = scatter_add(b_X, g, X, i)``
(``runtime.scatter_add``), which adds ``g`` into ``b_X``'s own array where that gives
the same numbers, when no other name can hold that array there: the change in place is
then seen by nobody else.

The precondition is proved from def-use facts, forward over the whole function: a name
is *unshared* at a point when on every path to it the name was last assigned a new
value (a number, the result of arithmetic: ``+``, ``-``, ``*``, ``/``, ``**``, ``@``,
which NumPy computes into a new array; the result of ``scatter``, ``zero_item`` or
``diagonal_vjp``, which make one) and has not been read since except as an operand
of such arithmetic (``b * 2`` makes a new array; ``c = b``, ``f(b)``, ``b[0]``,
``tape.append(b)`` may keep ``b``'s array, and the name is shared from then on, until
it is assigned a new value again). Branches keep what both keep; loops go round until
nothing changes; parameters, loop targets and anything else are shared. A statement
``b = b + scatter(g, X, i)`` whose ``b`` is unshared before it, and whose ``g``, ``X``
and ``i`` do not read ``b``, is rewritten; any other is left as it is. Code with a
construct the analysis does not follow (a nested function, a lambda, ``:=``,
``global``, ``with``, a ``try`` that a ``break`` leaves) is left alone.

The same analysis zeroes an item assignment's adjoint in place. The backward statements
of ``new = set_item(a, i, v)`` (``a[i] = v``) are ``g = broadcast_like(b_new, new)``, then
``b_a = zero_item(g, a, i)`` (a copy of ``g`` with the overwritten part zero) and
``b_v = assigned(g, a, i, v)``: a loop writing ``out[i]`` copied the adjoint on every
pass, O(n²) in all. Two more transfers:

* ``g = broadcast_like(b, x)`` and ``g = unbroadcast(b, x)`` give ``g`` ``b``'s array (or
  a view of it, or a new one): where ``b`` is unshared before it and dead after it
  (``dataflow.Liveness``), ``g`` is unshared after it; given a new value (``unbroadcast(e
  * c, x)``), ``g`` is unshared after it too (this also serves the accumulations above);
* the pair ``a = zero_item(g, x, i)``, ``v = assigned(g, x, i, w)``, next to each other,
  ``v`` none of ``g``, ``a`` and the names the first reads, ``a`` not read by the
  second, their arguments calling nothing: where ``g`` is unshared before it and dead
  after it, it is written ``v = assigned(g, x, i, w)``, ``a = zero_item_into(g, x, i, v)``
  (``runtime.zero_item_into`` zeroes ``g``'s own array where that gives ``zero_item``'s
  result, and ``assigned`` returns nothing that shares memory with ``g``). Either way
  ``a`` is unshared after the pair. (Not in code with a ``continue``, which
  ``dataflow.Liveness`` reads as running on; generated code has none.)

Reverse-mode code is never differentiated again (``grad(grad(f))`` and ``hvp``
differentiate ``f``'s forward-mode code, which reads ``X[i]``'s tangent as ``d_X[i]``).

>>> import ast
>>> from srcdiff.ir import Function, Namer
>>> from srcdiff.parse import parse
>>> def f(X, w):
...     pass
>>> function = Function("g", ast.parse("def g(X, w): pass").body[0].args, ast.parse('''
... b_X = 0.0
... for i in range(n):
...     b_X = b_X + scatter(w, X, i)
... c = b_X
... for i in range(n):
...     b_X = b_X + scatter(w, X, i)
... return (b_X, c)
... ''').body, parse(f), Namer())
>>> function.parsed.origins["scatter"] = ("helper", "scatter")
>>> print(accumulate(function).source())  # the second loop adds into c's array: left
def g(X, w):
    b_X = 0.0
    for i in range(n):
        b_X = scatter_add(b_X, w, X, i)
    c = b_X
    for i in range(n):
        b_X = b_X + scatter(w, X, i)
    return (b_X, c)
"""

from __future__ import annotations

import ast
import copy
from typing import Collection, Optional, cast

from ..dataflow import Liveness
from ..ir import Function, get_anno, has_anno

# arithmetic whose result is a new value (a new array for arrays)
_NEW = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult, ast.FloorDiv, ast.Mod)
_NOT_FOLLOWED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                 ast.NamedExpr, ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom,
                 ast.Await)

# runtime helpers whose result is always an array of their own
_FRESH_HELPERS = ("scatter", "zero_item", "diagonal_vjp")
# runtime helpers whose result is their first argument, a view of it, or a new array
_PASSING = ("broadcast_like", "unbroadcast")
_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return, ast.Pass,
               ast.Break, ast.Continue, ast.If, ast.For, ast.While, ast.Try, ast.Raise,
               ast.Assert, ast.Delete)

State = Optional[frozenset[str]]  # the unshared names; None: no path reaches here


def accumulate(function: Function) -> Function:
    helpers = {origin[1]: name for name, origin in function.parsed.origins.items()
               if origin[0] == "helper"} if function.parsed else {}
    # (dataflow.Liveness reads a `continue` as running on: no liveness where there is one;
    # generated code has none, lower makes them flags)
    zeroing = all(h in helpers for h in ("zero_item", "assigned")) and not any(
        isinstance(n, ast.Continue) for n in ast.walk(ast.Module(function.body, [])))
    if ("scatter" not in helpers and not zeroing) or not _followed(function.body):
        return function
    analysis = _Unshared(helpers.get("scatter"),
                         {helpers[h] for h in _FRESH_HELPERS if h in helpers}, helpers, zeroing)
    if zeroing:
        analysis.live_after = Liveness(function.body, set(), watch=analysis.asked(
            function.body)).after
    analysis.block(function.body, frozenset())
    rewritten = {key for key, verdict in analysis.verdicts.items() if verdict}
    zeroed = {key for key, verdict in analysis.pairs.items() if verdict}
    if not rewritten and not zeroed:
        return function
    from ..array_rules import helper_name
    names = {"scatter_add": helper_name(function, "scatter_add") if rewritten else "",
             "zero_item_into": helper_name(function, "zero_item_into") if zeroed else ""}
    return function.replace(body=_rewrite(function.body, rewritten, zeroed, names))


def _followed(body: list[ast.stmt]) -> bool:
    """Whether the analysis follows every construct of ``body``: statements of the kinds
    it knows, no nested function, lambda or ``:=``, and no ``try`` a ``break`` or
    ``continue`` leaves (it reads a ``try`` as one statement)."""
    for node in ast.walk(ast.Module(body, [])):
        if isinstance(node, _NOT_FOLLOWED):
            return False
        if isinstance(node, ast.stmt) and not isinstance(node, _STATEMENTS):
            return False
        if isinstance(node, ast.Try) and any(isinstance(n, (ast.Break, ast.Continue))
                                             for n in ast.walk(node)):
            return False
    return True


def _name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


# what an argument of the pair may be made of (the index: ``i``, ``(i, j)``,
# ``numpy.s_[i:k]``): evaluated as before, only in the other order, it must call nothing
_PLAIN = (ast.Name, ast.Constant, ast.Tuple, ast.Slice, ast.UnaryOp, ast.BinOp, ast.Load,
          ast.unaryop, ast.operator, ast.Attribute, ast.Subscript)


def _plain(node: ast.expr) -> bool:
    return all(isinstance(n, _PLAIN) for n in ast.walk(node))


def _meet(a: State, b: State) -> State:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _escaping(node: ast.AST) -> set[str]:
    """The names ``node`` reads where their value may be kept (all but the operands of
    arithmetic and comparisons, whose results are new values)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name):
            if isinstance(current.ctx, ast.Load):
                found.add(current.id)
            continue
        if isinstance(current, ast.BinOp) and isinstance(current.op, _NEW):
            stack += [o for o in (current.left, current.right) if not isinstance(o, ast.Name)]
            continue
        if isinstance(current, ast.UnaryOp) and isinstance(current.op, (ast.USub, ast.UAdd, ast.Not)):
            if not isinstance(current.operand, ast.Name):
                stack.append(current.operand)
            continue
        if isinstance(current, ast.Compare):
            stack += [o for o in [current.left, *current.comparators]
                      if not isinstance(o, ast.Name)]
            continue
        stack.extend(ast.iter_child_nodes(current))
    return found


def _new(value: ast.expr, fresh: set[str], passing: Collection[str] = ()) -> bool:
    """Whether ``value`` is always a value no other name holds (``fresh``: the names of
    the runtime helpers that return an array of their own; ``passing``: of those that
    return their first argument, a view of it or a new array, given a new value)."""
    return (isinstance(value, ast.Constant) and type(value.value) in (int, float)) or (
        isinstance(value, ast.BinOp) and isinstance(value.op, _NEW)) or (
        isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd))) or (
        isinstance(value, ast.Call) and _name(value.func) in fresh and not value.keywords) or (
        isinstance(value, ast.Call) and _name(value.func) in passing and not value.keywords
        and bool(value.args) and _new(value.args[0], fresh, passing))


class _Unshared:
    """The forward analysis of unshared names; ``verdicts``: for each candidate statement
    (by id), whether its accumulator is unshared before it on every visit; ``pairs``: for
    each item assignment's adjoint pair (by the ``zero_item`` statement's id), whether it
    may zero in place (``zero_pair``)."""

    def __init__(self, scatter: str | None, fresh: set[str],
                 helpers: dict[str, str] | None = None, zeroing: bool = False) -> None:
        self.scatter = scatter
        self.fresh = fresh
        self.verdicts: dict[int, bool] = {}
        self.pairs: dict[int, bool] = {}
        helpers = helpers or {}
        self.zero = helpers.get("zero_item") if zeroing else None
        self.assigned = helpers.get("assigned") if zeroing else None
        # helpers that return their first argument, a view of it or a new array
        self.passing = {helpers[h] for h in _PASSING if h in helpers}
        # the names live after the statements ``asked`` names (``dataflow.Liveness``)
        self.live_after: dict[int, set[str]] = {}
        self.breaks: list[list[State]] = []
        self.continues: list[list[State]] = []

    def helper_call(self, statement: ast.stmt, helper: str | None,
                    count: int) -> tuple[str, list[ast.expr]] | None:
        """``t = helper(a0, ..., a{count - 1})``, its arguments names or constants:
        ``t`` and the arguments."""
        if helper is None or not (isinstance(statement, ast.Assign)
                                  and len(statement.targets) == 1
                                  and isinstance(statement.targets[0], ast.Name)):
            return None
        call = statement.value
        if not (isinstance(call, ast.Call) and _name(call.func) == helper
                and not call.keywords and len(call.args) == count
                and all(_plain(a) for a in call.args)):
            return None
        return statement.targets[0].id, list(call.args)

    def zero_pair(self, first: ast.stmt, second: ast.stmt) -> tuple[str, str, str] | None:
        """``a = zero_item(g, x, i)`` then ``v = assigned(g, x, i, w)`` (an item
        assignment's backward statements, in the order its rule gives them): ``(g, a, v)``
        when ``g`` is a name, ``v`` is none of ``g``, ``a`` and the names the first reads,
        and ``a`` is none of the names the second reads. The two can then run the other
        way round, and ``zero_item`` write its zeros into ``g``'s array once ``g`` is
        dead (``zero_item_into``)."""
        zero = self.helper_call(first, self.zero, 3)
        value = self.helper_call(second, self.assigned, 4)
        if zero is None or value is None:
            return None
        (a, zero_args), (v, value_args) = zero, value
        g = _name(zero_args[0])
        if g is None or _name(value_args[0]) != g or \
                [ast.dump(a) for a in zero_args[1:]] != [ast.dump(a) for a in value_args[1:3]]:
            return None  # (the rule gives both the same array and index)
        first_reads = {n.id for a in zero_args for n in ast.walk(a) if isinstance(n, ast.Name)}
        second_reads = {n.id for a in value_args for n in ast.walk(a) if isinstance(n, ast.Name)}
        if v in first_reads | {a, g} or a in second_reads:
            return None
        return g, a, v

    def stretched(self, statement: ast.stmt) -> tuple[str, str] | None:
        """``g = broadcast_like(b, x)`` or ``g = unbroadcast(b, x)``: ``(g, b)``, ``b``
        a name."""
        for helper in self.passing:
            found = self.helper_call(statement, helper, 2)
            if found is not None and _name(found[1][0]) is not None:
                return found[0], cast(str, _name(found[1][0]))
        return None

    def asked(self, statements: list[ast.stmt]) -> dict[int, tuple[str, ...]]:
        """The liveness questions: after each ``g = broadcast_like(b, x)``, is ``b``
        live; after each pair's second statement, is ``g`` live."""
        questions: dict[int, tuple[str, ...]] = {}
        for position, statement in enumerate(statements):
            if isinstance(statement, (ast.If, ast.For, ast.While)):
                questions.update(self.asked(statement.body))
                questions.update(self.asked(statement.orelse))
                continue
            stretched = self.stretched(statement)
            if stretched is not None:
                questions[id(statement)] = (stretched[1],)
            if position + 1 < len(statements):
                pair = self.zero_pair(statement, statements[position + 1])
                if pair is not None:
                    questions[id(statements[position + 1])] = (pair[0],)
        return questions

    def candidate(self, statement: ast.stmt) -> str | None:
        """``b = b + scatter(g, X, i)``: ``b``, when ``g``, ``X`` and ``i`` do not read it."""
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            return None
        target, value = statement.targets[0].id, statement.value
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add)
                and _name(value.left) == target and isinstance(value.right, ast.Call)):
            return None
        call = value.right
        if self.scatter is None or _name(call.func) != self.scatter or len(call.args) != 3 \
                or call.keywords:
            return None
        if any(isinstance(n, ast.Name) and n.id == target
               for a in call.args for n in ast.walk(a)):
            return None
        return target

    def block(self, statements: list[ast.stmt], state: State) -> State:
        position = 0
        while position < len(statements):
            if state is None:
                return None
            statement = statements[position]
            pair = self.zero_pair(statement, statements[position + 1]) \
                if position + 1 < len(statements) and self.zero is not None else None
            if pair is not None:
                second = statements[position + 1]
                g, a, v = pair
                key = id(statement)
                self.pairs[key] = self.pairs.get(key, True) and g in state \
                    and g not in self.live_after.get(id(second), {g})
                # either way ``a`` ends unshared (zero_item makes a new array; in place,
                # the array only ``g``, dead now, held), ``g`` and ``v`` shared, and what
                # the two calls read may be kept
                reads = _escaping(cast(ast.Assign, statement).value) | \
                    _escaping(cast(ast.Assign, second).value)
                state = (state - reads - {g, v}) | {a}
                position += 2
                continue
            stretched = self.stretched(statement) if self.passing else None
            if stretched is not None and stretched[1] in state and \
                    stretched[1] not in self.live_after.get(id(statement), {stretched[1]}):
                # ``g = broadcast_like(b, x)`` gives ``g`` ``b``'s array (or a read-only
                # view of it, or a new one); ``b`` is dead: ``g`` is its only holder
                g, b = stretched
                like = cast(ast.Call, cast(ast.Assign, statement).value).args[1]
                state = (state - _escaping(like) - {b}) | {g}
                position += 1
                continue
            state = self.statement(statement, state)
            position += 1
        return state

    def statement(self, statement: ast.stmt, state: frozenset[str]) -> State:
        kind = type(statement)
        if kind is ast.Assign:
            assert isinstance(statement, ast.Assign)
            target = self.candidate(statement)
            if target is not None:
                key = id(statement)
                self.verdicts[key] = self.verdicts.get(key, True) and target in state
            state = state - _escaping(statement.value)
            if len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                name = statement.targets[0].id
                return state | {name} if _new(statement.value, self.fresh, self.passing) \
                    else state - {name}
            return self.stores(statement, state)
        if kind is ast.AugAssign:  # the target keeps its array (or gets a new number)
            assert isinstance(statement, ast.AugAssign)
            value = statement.value
            state = state - (set() if isinstance(value, ast.Name) else _escaping(value))
            return state if isinstance(statement.target, ast.Name) else \
                self.stores(statement, state)
        if kind is ast.Expr:
            return state - _escaping(statement)
        if kind is ast.Return:
            return None
        if kind is ast.Pass:
            return state
        if kind is ast.Break:
            self.breaks[-1].append(state)
            return None
        if kind is ast.Continue:
            self.continues[-1].append(state)
            return None
        if kind is ast.If:
            assert isinstance(statement, ast.If)
            state = state - _escaping(statement.test)
            return _meet(self.block(statement.body, state), self.block(statement.orelse, state))
        if kind is ast.For or kind is ast.While:
            return self.loop(statement, state)  # type: ignore[arg-type]
        if kind is ast.Try or (kind is ast.Raise and has_anno(statement, "reads")):
            # run as written (``lower.Lowering.opaque``), read as one statement: what it
            # reads (as written, and as recorded) may be kept, what it writes is shared
            state = state - _escaping(statement) - set(get_anno(statement, "reads", ()))
            state = self.stores(statement, state) - set(get_anno(statement, "writes", ()))
            return None if kind is ast.Raise else state
        # anything else (an assert, a del...): every name it reads may be kept, every
        # name it stores is shared
        state = state - _escaping(statement)
        state = self.stores(statement, state)
        return None if kind is ast.Raise else state

    @staticmethod
    def stores(statement: ast.AST, state: frozenset[str]) -> frozenset[str]:
        return state - {n.id for n in ast.walk(statement)
                        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}

    def loop(self, loop: ast.For | ast.While, state: frozenset[str]) -> State:
        if isinstance(loop, ast.For):
            state = state - _escaping(loop.iter)
            stored = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
        else:
            stored = set()
        test = _escaping(loop.test) if isinstance(loop, ast.While) else set()
        head: frozenset[str] = state  # at the top, before a while loop's test
        while True:  # the heads only lose names: this ends
            self.breaks.append([])
            self.continues.append([])
            end = self.block(loop.body, head - test - stored)
            breaks, continues = self.breaks.pop(), self.continues.pop()
            for more in continues:
                end = _meet(end, more)
            new = _meet(state, end)
            assert new is not None  # the state before the loop reaches its head
            if new == head:
                break
            head = new
        after = self.block(loop.orelse, head - test)  # the loop ran out (or never ran)
        for more in breaks:
            after = _meet(after, more)
        return after


def _rewrite(statements: list[ast.stmt], rewritten: set[int], zeroed: set[int],
             names: dict[str, str]) -> list[ast.stmt]:
    result: list[ast.stmt] = []
    helper = names["scatter_add"]
    skip = False
    for position, statement in enumerate(statements):
        if skip:  # the second statement of a pair, moved before the first
            skip = False
            continue
        if id(statement) in zeroed:  # a = zero_item(g, x, i); v = assigned(g, ...)
            second = statements[position + 1]
            assert isinstance(statement, ast.Assign) and isinstance(second, ast.Assign)
            call = statement.value
            assert isinstance(call, ast.Call)
            statement = copy.copy(statement)
            statement.value = ast.copy_location(ast.Call(
                ast.Name(names["zero_item_into"], ast.Load()),
                [*call.args, ast.Name(cast(ast.Name, second.targets[0]).id, ast.Load())], []),
                call)
            result += [second, statement]
            skip = True
            continue
        if id(statement) in rewritten:
            assert isinstance(statement, ast.Assign) and isinstance(statement.value, ast.BinOp)
            value = statement.value
            call = value.right
            assert isinstance(call, ast.Call)
            statement = copy.copy(statement)
            statement.value = ast.copy_location(ast.Call(
                ast.Name(helper, ast.Load()), [value.left, *call.args], []), value)
        elif isinstance(statement, (ast.If, ast.For, ast.While)):  # (a try: left as written)
            body = _rewrite(statement.body, rewritten, zeroed, names)
            orelse = _rewrite(statement.orelse, rewritten, zeroed, names)
            if any(a is not b for a, b in zip(body + orelse, statement.body + statement.orelse)):
                statement = copy.copy(statement)
                statement.body, statement.orelse = body, orelse
        result.append(statement)
    return result
