"""Checkpointing (``srcdiff.grad(f, checkpoints=K)``): the backward sweep of a loop at the
top level of the function keeps at most ``K`` of the loop's states, and runs stretches of
the loop again from them, instead of taping every iteration.

The reverse pass gives each loop a forward loop, whose iterations push the values the
backward sweep needs onto the tape, and a replay loop, which pops them in reverse order.
This stage (after the optimiser) rewrites the pair:

* the forward loop runs the primal iterations without taping; before it, the loop's state
  (the values its iterations read that they also change: ``Liveness`` of the loop) is kept
  as the first checkpoint;
* the replay loop follows ``Checkpoints.actions``, a binomial schedule (Griewank's
  *revolve*): restore a kept state, run iterations forward from it untaped, keep the state
  reached, or run a stretch of at most ``LEAF`` iterations taped and then its replay.

Each stretch is the forward loop's body and the replay loop's body as the reverse pass
wrote them, over ``items[begin:end]`` of the loop's items: the same statements on the
same values as without checkpoints, so the gradient is the same to the last bit. Taped,
one stretch leaves the variables as the replay expects them at its start (the state
after its last iteration); replayed, the pops leave them as before its first. The state is
kept by reference: checkpointed code never changes an array in place (``set_item``
copies: the pipeline does not make item assignments in place, ``in_place``, when it
checkpoints), so a kept array is not changed by the iterations after it.

A variable an iteration may leave for the next with no value before the loop (the
running minimum of ``min(...)`` over a generator) is kept as ``UNBOUND`` while it has
none, and deleted again when that state is restored.

A ``while`` loop is reversed the same way: the forward sweep counts its iterations, and
a stretch runs the body that many times (its test held for each when the forward sweep
ran them).

Three iterations, two states kept (the one before the loop, and one more), in stretches of
at most two iterations:

>>> schedule = Checkpoints(2, "the state before iteration 0")
>>> for kind, begin, end in schedule.actions(3):
...     if kind == KEEP:
...         schedule.keep(begin, f"the state before iteration {begin}")
...     print(["restore", "advance", "keep", "reverse"][kind], begin, end)
restore 0 0
advance 0 1
keep 1 1
restore 1 1
reverse 1 3
restore 0 0
reverse 0 1
"""

from __future__ import annotations

import ast
import math
from typing import Any, Iterator

from .dataflow import Liveness, maybe_unbound
from .errors import UnsupportedSyntaxError, located
from .expr import runtime_name
from .ir import Function, copy_tree, get_anno, walk_code

RESTORE, ADVANCE, KEEP, REVERSE = 0, 1, 2, 3
LEAF = 1000  # at most this many iterations taped at once


class Checkpoints:
    """The states kept for one loop, and the schedule that reverses it.

    ``actions(steps)`` yields ``(kind, begin, end)``: ``RESTORE``: set the loop's
    variables to the state kept before iteration ``begin``; ``ADVANCE``: run iterations
    ``begin`` to ``end - 1`` untaped; ``KEEP``: keep the current state as the one before
    iteration ``begin``; ``REVERSE``: run iterations ``begin`` to ``end - 1`` taped, then
    their backward sweep. Every ``REVERSE`` follows a ``RESTORE`` or ``ADVANCE`` that
    leaves the state before its ``begin``; the ``REVERSE`` stretches cover the iterations
    once each, last first; at most ``slots`` states are kept at any time (the first
    one, kept before the loop, included); a stretch has at most ``LEAF`` iterations.

    The schedule is binomial (Griewank and Walther's *revolve*): with ``s`` states free
    and ``r`` runs allowed, ``C(s + r, s)`` stretches can be reversed, each iteration run
    forward at most ``r`` more times. The stretches are the iterations cut into that many
    pieces, ``r`` the least for which pieces of at most ``LEAF`` iterations suffice."""

    __slots__ = ("slots", "kept", "most", "runs")

    def __init__(self, slots: int, state: Any) -> None:
        self.slots = slots
        self.kept: dict[int, Any] = {0: state}
        self.most = 1  # the most states kept at once
        self.runs = 0  # iterations run again (untaped), all told: for tests and benchmarks

    def keep(self, position: int, state: Any) -> None:
        self.kept[position] = state
        self.most = max(self.most, len(self.kept))

    def actions(self, steps: int) -> Iterator[tuple[int, int, int]]:
        if steps <= 0:
            return
        free = self.slots - 1
        runs = 1
        while math.comb(free + runs, free) * LEAF < steps:
            runs += 1
        pieces = min(steps, math.comb(free + runs, free))
        bounds = [j * steps // pieces for j in range(pieces + 1)]
        yield from self._reverse(bounds, 0, pieces, free)

    def _reverse(self, bounds: list[int], begin: int, end: int, free: int
                 ) -> Iterator[tuple[int, int, int]]:
        """Pieces ``begin`` to ``end - 1``, last first; the state before ``begin`` is
        kept, ``free`` more may be."""
        while end - begin > 1 and free > 0:
            length = end - begin
            runs = 1
            while math.comb(free + runs, free) < length:
                runs += 1
            middle = end - min(math.comb(free - 1 + runs, free - 1), length - 1)
            yield RESTORE, bounds[begin], bounds[begin]
            self.runs += bounds[middle] - bounds[begin]
            yield ADVANCE, bounds[begin], bounds[middle]
            yield KEEP, bounds[middle], bounds[middle]
            yield from self._reverse(bounds, middle, end, free - 1)
            del self.kept[bounds[middle]]
            end = middle
        for piece in range(end - 1, begin - 1, -1):
            yield RESTORE, bounds[begin], bounds[begin]
            if piece > begin:
                self.runs += bounds[piece] - bounds[begin]
                yield ADVANCE, bounds[begin], bounds[piece]
            yield REVERSE, bounds[piece], bounds[piece + 1]


class _Unbound:
    """What a checkpoint keeps for a variable with no value yet."""

    def __repr__(self) -> str:
        return "UNBOUND"


UNBOUND = _Unbound()


def positional(items: Any) -> Any:
    """The items of a loop, indexable by a slice: a range, a list, a tuple or an array
    as it is (slicing one gives the items its loop would give), anything else as a
    tuple of the items it gives."""
    if isinstance(items, (range, list, tuple)):
        return items
    if type(items).__name__ == "ndarray" and type(items).__module__ == "numpy":
        return items
    return tuple(items)


# -- the rewriting -----------------------------------------------------------------------
def checkpoint(function: Function, slots: int) -> Function:
    """Each loop at the top level (outside other loops) whose iterations tape values,
    rewritten to keep at most ``slots`` states (see the module's docstring)."""
    forward_loops: dict[int, tuple[list[ast.stmt], ast.For | ast.While]] = {}
    replays: dict[int, tuple[list[ast.stmt], ast.For]] = {}

    def find(block: list[ast.stmt]) -> None:
        for statement in block:
            if isinstance(statement, ast.If):
                find(statement.body)
                find(statement.orelse)
            elif isinstance(statement, (ast.For, ast.While)):
                origin = get_anno(statement, "replay_of")
                if origin is not None:
                    replays[origin] = (block, statement)  # type: ignore[assignment]
                elif get_anno(statement, "primal") is not None:
                    forward_loops[get_anno(statement, "primal")] = (block, statement)

    find(function.body)
    for origin, (block, loop) in forward_loops.items():
        if not _tapes(loop.body):
            continue  # nothing taped: nothing to bound
        if origin not in replays:
            raise AssertionError("checkpoint: a taping loop without its replay loop")
        _rewrite(function, slots, block, loop, *replays[origin])
    return function


def _tapes(body: list[ast.stmt]) -> bool:
    return any(get_anno(n, "push") for s in body for n in walk_code(s))


def _stores(statement: ast.stmt) -> set[str]:
    """The names ``statement`` may assign (a ``try``'s own, as lowering noted them, too:
    ``except ... as e``, imports)."""
    found = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.Try):
            found.update(get_anno(node, "writes", ()))
    return found


def _assigned_after(body: list[ast.stmt], loop: ast.stmt) -> set[str]:
    """The names assigned by the statements after ``loop`` in the function's text (in
    its block, and after the blocks enclosing it; ``loop`` is outside loops)."""
    found: set[str] = set()
    passed = False

    def visit(block: list[ast.stmt]) -> None:
        nonlocal passed
        for statement in block:
            if statement is loop:
                passed = True
            elif passed:
                found.update(_stores(statement))
            elif isinstance(statement, ast.If):
                visit(statement.body)
                visit(statement.orelse)
    visit(body)
    return found


def _saved_everywhere(name: str, body: list[ast.stmt]) -> bool:
    """Whether each assignment to ``name`` in ``body`` (at any depth) comes right after
    the push of its old value: the replay then gives every value back, and leaves
    ``name`` as it was before the loop, with checkpoints or without."""
    def visit(block: list[ast.stmt]) -> bool:
        for position, statement in enumerate(block):
            if isinstance(statement, (ast.For, ast.While, ast.If)):
                if isinstance(statement, ast.For) and any(
                        isinstance(n, ast.Name) and n.id == name
                        for n in ast.walk(statement.target)):
                    return False
                if not (visit(statement.body) and visit(statement.orelse)):
                    return False
                continue
            if not any(isinstance(n, ast.Name) and n.id == name and
                       isinstance(n.ctx, ast.Store) for n in ast.walk(statement)):
                continue
            before = block[position - 1] if position else None
            if not (isinstance(statement, ast.Assign) and isinstance(before, ast.Expr) and
                    get_anno(before, "push") and isinstance(before.value, ast.Call) and
                    len(before.value.args) == 1 and
                    isinstance(before.value.args[0], ast.Name) and
                    before.value.args[0].id == name):
                return False
        return True
    return visit(body)


def _untaped(body: list[ast.stmt]) -> list[ast.stmt]:
    """``body`` without its pushes onto the tape (copied)."""
    result: list[ast.stmt] = []
    for statement in body:
        if get_anno(statement, "push"):
            continue
        statement = copy_tree(statement)
        for node in ast.walk(statement):
            for field in ("body", "orelse"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    kept = [s for s in inner if not get_anno(s, "push")]
                    setattr(node, field, kept or [ast.Pass()])
        result.append(statement)
    return result


def _rewrite(function: Function, slots: int, forward_block: list[ast.stmt],
             loop: ast.For | ast.While, replay_block: list[ast.stmt], replay: ast.For) -> None:
    namer = function.namer

    def fresh(base: str) -> str:
        name = namer.fresh(base)
        function.synthetic.add(name)
        return name

    def load(name: str) -> ast.Name:
        return ast.Name(name, ast.Load())

    def store(name: str) -> ast.Name:
        return ast.Name(name, ast.Store())

    if loop.orelse:
        raise AssertionError("checkpoint: a forward loop with an else branch")
    trips = replay.iter
    if not (isinstance(trips, ast.Call) and len(trips.args) == 1 and
            isinstance(trips.args[0], ast.Name)):
        raise AssertionError("checkpoint: a replay loop not over range(<counter>)")
    counter = trips.args[0].id
    # the loop's state: what its iterations read before assigning, of what they assign
    stored = _stores(loop)
    live = Liveness([loop], set()).live_before
    # and what it reads that code after it assigns (a later loop's `h = tanh(h)`, its
    # replay's restores): the stretches run after that code
    state = sorted((live & (stored | _assigned_after(function.body, loop))) - {counter})
    stored |= set(state)  # what the stretches and restores assign
    probe = ast.Expr(ast.Tuple([load(n) for n in state], ast.Load()))
    position = next(i for i, s in enumerate(forward_block) if s is loop)
    forward_block.insert(position, probe)
    args = function.args
    parameters = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    # a value an iteration may leave for the next with none before the first (min()'s
    # running minimum): kept as UNBOUND while it has none, and unbound again at restore
    unbound = maybe_unbound(function.body, parameters).get(id(probe), set())
    del forward_block[position]

    # What the code after the replay reads of what the loop assigns: the replay's
    # stretches assign it again. What the replay does not assign, it must find as the
    # forward sweep left it (kept aside here, put back after); what the replay assigns
    # in every iteration it leaves as without checkpoints (the last write is the first
    # iteration's, in both).
    replay_stored = {n.id for s in replay.body for n in ast.walk(s)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    every_iteration = {n.id for s in replay.body if isinstance(s, ast.Assign)
                       for n in ast.walk(s.targets[0]) if isinstance(n, ast.Name)}
    marker = ast.Expr(ast.Constant(None))  # live after it: live after the replay
    place = next(i for i, s in enumerate(replay_block) if s is replay)
    replay_block.insert(place + 1, marker)
    after = Liveness(function.body, set(), watch={id(marker): stored}).after.get(
        id(marker), set())
    del replay_block[place + 1]
    at_end = sorted((after & stored) - replay_stored)
    for name in sorted((after & replay_stored) - every_iteration):
        if not _saved_everywhere(name, loop.body):
            raise located(UnsupportedSyntaxError, f"checkpoints=: the backward sweep of this "
                          f"loop leaves `{name}` in a state checkpointing does not reproduce",
                          loop, function.parsed, hint="differentiate without checkpoints")
    unbound_at_end: set[str] = set()
    if at_end:  # (one with no value there is put back with none)
        probe = ast.Expr(ast.Tuple([load(n) for n in at_end], ast.Load()))
        place = next(i for i, s in enumerate(replay_block) if s is replay)
        replay_block.insert(place, probe)
        unbound_at_end = maybe_unbound(function.body, parameters).get(id(probe), set())
        del replay_block[place]

    def counted(body: list[ast.stmt]) -> list[ast.stmt]:
        return [s for s in body if not (isinstance(s, ast.AugAssign) and
                                        isinstance(s.target, ast.Name) and
                                        s.target.id == counter)]

    items, keeper = fresh("items"), fresh("checkpoints")
    kind, begin, end = fresh("kind"), fresh("begin"), fresh("end")

    def value_of(name: str, maybe_unbound: set[str]) -> ast.expr:
        """``name``, or ``locals().get("name", UNBOUND)`` where it may have no value."""
        if name not in maybe_unbound:
            return load(name)
        return ast.Call(ast.Attribute(ast.Call(runtime_name("locals"), [], []), "get",
                                      ast.Load()),
                        [ast.Constant(name), runtime_name("UNBOUND")], [])

    def unbind(names: set[str]) -> list[ast.stmt]:
        return [ast.If(ast.Compare(load(n), [ast.Is()], [runtime_name("UNBOUND")]),
                       [ast.Delete([ast.Name(n, ast.Del())])], []) for n in sorted(names)]

    def state_tuple() -> ast.Tuple:
        return ast.Tuple([value_of(n, unbound) for n in state], ast.Load())

    def stretch(body: list[ast.stmt]) -> ast.For:
        """Iterations ``begin`` to ``end - 1`` of the loop (of a ``while`` loop: its
        test held for each, when the forward sweep ran them; ``break`` and ``continue``
        do as they did)."""
        if isinstance(loop, ast.While):
            return ast.For(store(fresh("step")), ast.Call(runtime_name("range"), [
                ast.BinOp(load(end), ast.Sub(), load(begin))], []), body, [])
        return ast.For(copy_tree(loop.target), ast.Subscript(
            load(items), ast.Slice(load(begin), load(end)), ast.Load()), body, [])

    def keeper_call(method: str, *arguments: ast.expr) -> ast.Call:
        return ast.Call(ast.Attribute(load(keeper), method, ast.Load()), list(arguments), [])

    # forward: keep the first state, run the primal iterations untaped
    first: list[ast.stmt] = [ast.Assign([store(keeper)], ast.Call(
        runtime_name("Checkpoints"), [ast.Constant(slots), state_tuple()], []))]
    primal: ast.For | ast.While
    if isinstance(loop, ast.While):
        primal = ast.While(loop.test, _untaped(loop.body), [])
    else:
        first.insert(0, ast.Assign([store(items)], ast.Call(runtime_name("positional"),
                                                             [loop.iter], [])))
        primal = ast.For(loop.target, load(items), _untaped(loop.body), [])
    for name in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        if hasattr(loop, name):
            setattr(primal, name, getattr(loop, name))
    forward_block[position:position + 1] = first + [primal]

    restore: list[ast.stmt] = [
        ast.Assign([ast.Tuple([store(n) for n in state], ast.Store())],
                   ast.Subscript(ast.Attribute(load(keeper), "kept", ast.Load()), load(begin),
                                 ast.Load()))] if state else [ast.Pass()]
    restore += unbind(unbound)
    advance = stretch(counted(_untaped(loop.body)))
    keep = ast.Expr(keeper_call("keep", load(begin), state_tuple()))
    taped = stretch(counted(copy_tree(loop.body)))
    backward = ast.For(copy_tree(replay.target), ast.Call(runtime_name("range"), [
        ast.BinOp(load(end), ast.Sub(), load(begin))], []), replay.body, [])

    def kind_is(value: int) -> ast.Compare:
        return ast.Compare(load(kind), [ast.Eq()], [ast.Constant(value)])

    schedule = ast.For(
        ast.Tuple([store(kind), store(begin), store(end)], ast.Store()),
        keeper_call("actions", load(counter)),
        [ast.If(kind_is(RESTORE), restore, [
            ast.If(kind_is(ADVANCE), [advance], [
                ast.If(kind_is(KEEP), [keep], [taped, backward])])])], [])
    for name in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        if hasattr(replay, name):
            setattr(schedule, name, getattr(replay, name))
    at = next(i for i, s in enumerate(replay_block) if s is replay)
    if at_end:
        ends = fresh(f"{at_end[0]}_at_end" if len(at_end) == 1 else "at_end")
        values: ast.expr = value_of(at_end[0], unbound_at_end) if len(at_end) == 1 else \
            ast.Tuple([value_of(n, unbound_at_end) for n in at_end], ast.Load())
        names: ast.expr = store(at_end[0]) if len(at_end) == 1 else \
            ast.Tuple([store(n) for n in at_end], ast.Store())
        replay_block[at:at + 1] = [ast.Assign([store(ends)], values), schedule,
                                   ast.Assign([names], load(ends)), *unbind(unbound_at_end)]
    else:
        replay_block[at] = schedule
