"""Stage 6, reverse: the adjoint program (reverse mode).

Contract: takes an analysed three-address ``ir.Function`` in which no statement reads
its own target (``lower`` splits ``y = f(y)``) and returns the gradient function: the
forward sweep (the primal statements, plus what the backward sweep needs saved), then the
backward sweep, which visits the primal statements in reverse order and, for each active
one ``y = op(a, b)``, adds ``b_y * ∂op/∂a`` to ``b_a`` for every active operand
(``srcdiff.adjoints`` writes those statements).

**The invariant.** When the backward statements of ``S`` run, every variable they read
holds the value it had right after ``S`` ran in the forward sweep. Everything here
serves it, and every decision is derived from it:

* top-level straight-line code is in single-assignment form, so its values are never
  overwritten: nothing to save;
* inside ``if``, ``for`` and ``while`` a variable may be overwritten: an overwritten value
  the backward sweep reads is pushed on ``tape`` (a plain list) before the overwrite and
  popped right after the overwriting statement's backward statements (Tapenade's scheme);
  a variable the backward sweep never reads is never saved;
* the backward sweep replays an ``if`` on its test, or on the decision recorded in the
  forward sweep when the branch changes what the test reads, and a loop as many times as
  the forward sweep counted (counts of repeated loops go on the tape);
* every adjoint a compound statement touches is set to ``0.0`` before it, and after
  ``y = ...`` is differentiated, ``b_y`` is reset to ``0.0``: it now belongs to the value
  ``y`` had before.

Two optimisations follow from the invariant and the versions of ``srcdiff.dataflow``:
a partial reads a value the forward sweep computed (``c`` for ``math.cos(x)``) when the
expression is *available* at the statement, its variable and operands assigned by no
statement from its computation to the statement itself included (``reuse``); and in a
loop body, a variable assigned once by cheap arithmetic is recomputed in the backward
sweep instead of taped, just before its last reader's backward statements, when each of
its operands is assigned by no statement from its computation to that reader included, or
is recomputed there itself (``rematerialize``). Each backward statement is annotated with the primal statement it
differentiates (``grad_of``). The optimiser removes what this pass leaves.

>>> import math
>>> def h(x):
...     f = x ** 2
...     g = math.log(f)
...     return g + 1
>>> from srcdiff.parse import parse
>>> from srcdiff.normalize import normalize
>>> from srcdiff.lower import lower
>>> from srcdiff.analyse import analyse
>>> print(reverse(analyse(lower(normalize(parse(h))), ("x",)), "dh_dx").source())
def dh_dx(x):
    f = x ** 2
    g = math.log(f)
    h = g + 1
    b_h = 1.0
    b_g = b_h
    b_f = b_g / f
    b_x = b_f * (2 * x)
    return __gradient__(b_x, x)

>>> def power(x, n):
...     y = 1.0
...     for i in range(n):
...         y = y * x
...     return y
>>> print(reverse(analyse(lower(normalize(parse(power))), ("x",)), "dpower_dx").source())
def dpower_dx(x, n):
    tape = []
    y = 1.0
    iterations = 0
    for i in range(n):
        iterations += 1
        mul = y * x
        tape.append(y)
        y = mul
    b_y = 1.0
    b_x = 0.0
    for _ in range(iterations):
        b_mul = b_y
        b_y = 0.0
        y = tape.pop()
        b_y += b_mul * x
        b_x += b_mul * y
    return __gradient__(b_x, x)
"""

from __future__ import annotations

import ast
from collections import Counter
from typing import Any, Callable, Hashable, Iterable, Iterator, TypeVar, cast, overload

from .adjoints import Adjoints, Available, expression_key
from .analyse import cannot_raise, operands
from .dataflow import (COMPOUND, Block, Facts, assigned, maybe_unbound, reads, statements_of,
                       targets)
from .expr import Code, Value, runtime_name
from .ir import Function, copy_tree, get_anno, name_counts, name_id, set_anno, walk_code

GRADIENT = "__gradient__"  # marks each returned gradient until ``finish`` decides its form
_Node = TypeVar("_Node", bound=ast.AST)
# what a tape saves (typed code): a variable, or (variable, counter) in a counted loop
_TapeKey = str | tuple[str, str]


def reverse(function: Function, name: str, with_value: bool = False,
            as_tuple: bool = False, vjp: bool = False, reuse: bool = True,
            rematerialize: bool = True, typed: bool = False,
            in_place: bool = False, shape_only: bool = False) -> Function:
    """``as_tuple``: return a tuple of gradients even for one ``wrt`` parameter.
    ``vjp``: the vector-Jacobian function of a recursive callee: every parameter by
    position, then the adjoint of the result; returns the tuple of ``wrt`` adjoints.
    ``reuse``, ``rematerialize``: the two optimisations above. ``typed``: code a compiler
    can type (``compile="numba"``): one tape per saved variable (and per counted loop),
    so each holds values of one type, and placeholders that are numbers, not None.
    ``in_place``: item assignments inside compound statements that ``analyse`` marked
    (``write_in_place``) change their array in place, the backward sweep undoing each
    change (the caller's to decide: not for a vector-Jacobian function, whose result
    the backward sweep would change, nor typed or checkpointed code).
    ``shape_only``: a value the backward sweep reads only for its shape and dtype is
    taped as ``runtime.stand_in`` of it (``Reverse.shape_only``; not typed code, nor
    checkpointed code, the caller's to decide)."""
    return Reverse(function, reuse, rematerialize, typed, in_place, shape_only).run(
        name, with_value, as_tuple, vjp)


def _marker(kind: str, variable: str, **facts: Any) -> ast.stmt:
    """A placeholder for a tape operation, decided once the backward sweep is known."""
    node = ast.Expr(ast.Constant(f"{kind} {variable}"))
    set_anno(node, "marker", kind)
    set_anno(node, "variable", variable)
    for key, value in facts.items():
        set_anno(node, key, value)
    return node


class Reverse:
    """State: ``adjoints`` writes each statement's backward statements and remembers
    which adjoints are written; ``bound`` holds the variables assigned so far in program
    order (outside loops, a variable with no earlier value has nothing to save);
    ``loops`` pairs each backward loop with the forward statements that count its
    iterations (dropped with it when it turns out to do nothing)."""

    def __init__(self, function: Function, reuse: bool = True, rematerialize: bool = True,
                 typed: bool = False, in_place: bool = False, shape_only: bool = False) -> None:
        self.typed = typed
        self.in_place = in_place and not typed
        self.shape_only_enabled = shape_only and not typed
        self.stand_ins: set[str] = set()  # saved as runtime.stand_in (``shape_only``)
        self.tapes: dict[_TapeKey, str] = {}  # typed: the tape of each variable saved
        # typed: tapes of a top-level loop over range(...) -> that loop's counter (its
        # saves at most a fixed number a iteration: ``jit.preallocate`` makes them arrays)
        self.bounded: dict[str, str] = {}
        self.reusing = reuse
        self.rematerializing = rematerialize
        self.redone = False  # whether rematerialize wrote any recomputation
        self.function = function
        self.namer = function.namer
        args = function.args
        self.parameters = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        self.facts = Facts(function.body, self.parameters)
        self.loads = name_counts(function.body)[1]
        self.adjoints = Adjoints(function, set(function.active),
                                 _single_use_temporaries(function, self.facts, self.loads))
        self.bound = _Bound(self.parameters)
        self.loops: list[tuple[ast.stmt, list[ast.stmt]]] = []
        self.tape = self.namer.fresh("tape")
        self.function.synthetic.add(self.tape)
        # Reads that may find their name unbound (Python raises there; so must we).
        self.unbound = maybe_unbound(function.body, self.parameters)
        # Expressions computed at the top level into single-valued variables from
        # single-valued operands: they hold throughout the backward sweep, which runs
        # after the whole forward sweep.
        self.everywhere: dict[Hashable, str] = {}
        for statement in function.body if reuse else ():
            if isinstance(statement, ast.Assign) and isinstance(
                    statement.value, (ast.BinOp, ast.UnaryOp, ast.Call)) and \
                    get_anno(statement.value, "recursive") is None:
                target = name_id(statement.targets[0])
                names = operands(statement.value) | {target}
                key = expression_key(statement.value)
                if key is not None and all(self.facts.single_valued(n) for n in names):
                    self.everywhere.setdefault(key, target)

    # -- the whole function ----------------------------------------------------------
    def run(self, name: str, with_value: bool, as_tuple: bool, vjp: bool = False) -> Function:
        function = self.function
        body = [s for s in function.body if not isinstance(s, ast.Return)]
        output = function.output
        # vjp: the output's adjoint is a parameter, one per element of a returned tuple
        # (each seeds its element's adjoint: ``return a, a`` adds both to ``b_a``)
        outputs = output.elts if isinstance(output, ast.Tuple) else [output]
        seed_names = [self.namer.fresh("b_result") for _ in outputs] if vjp else []
        seed: list[ast.stmt] = []
        for position, element in enumerate(outputs):
            if isinstance(element, ast.Name) and element.id in self.adjoints.active:
                seed += self.adjoints.accumulate(
                    element.id, Code.name(seed_names[position]) if vjp else 1.0, None,
                    top=True)
        # a branch or a loop: only then can there be markers, replays and tapes
        self.branches_or_loops = any(isinstance(s, (*COMPOUND, ast.Try)) for s in body)
        forward, backward = self.block(body, depth=0, available=_Available(self.everywhere),
                                       top=True)
        backward = seed + backward
        gradients = [self.gradient(p) for p in function.wrt]
        if len(gradients) == 1 and not as_tuple and not vjp:
            result = gradients[0]
        else:
            result = ast.Tuple(gradients, ast.Load())
        if with_value:
            if isinstance(output, ast.Name):
                # The backward sweep may restore the output's variable from the tape:
                # keep the value the forward sweep computed.
                value = self.namer.fresh("value")
                self.function.synthetic.add(value)
                forward.append(ast.Assign([ast.Name(value, ast.Store())], output))
                output = ast.Name(value, ast.Load())
            result = ast.Tuple([output, result], ast.Load())
        forward, backward = self.materialize(forward, backward)
        args = function.args
        if vjp:
            everything = args.posonlyargs + args.args + args.kwonlyargs + [
                ast.arg(n) for n in seed_names]
            args = ast.arguments(posonlyargs=[], args=[ast.arg(a.arg) for a in everything],
                                 vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                                 defaults=[])
        return function.replace(name=name, args=args,
                                body=forward + backward + [ast.Return(result)])

    def gradient(self, parameter: str) -> ast.expr:
        """The gradient returned for ``parameter``, marked ``__gradient__(b_x, x)`` until
        ``finish`` gives it its final form (an array of the parameter's shape of its own,
        a float)."""
        adjoint = ast.Name(self.namer.adjoint(parameter), ast.Load()) \
            if parameter in self.adjoints.written else ast.Constant(0.0)
        marked = ast.Call(ast.Name(GRADIENT, ast.Load()),
                          [adjoint, ast.Name(parameter, ast.Load())], [])
        set_anno(marked, "gradient", parameter)
        return marked

    # -- blocks ------------------------------------------------------------------------
    def block(self, statements: list[ast.stmt], depth: int, available: "_Available", top: bool = False
              ) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """The forward and backward statements of a block. ``available``: the
        expressions computed before the block, valid throughout it; ``top``: the
        function's own body, whose backward statements are written in backward order
        (the first contribution to an adjoint there assigns it)."""
        versions = Block(statements)
        known = available.without(set())
        # (statement, forward statements, backward statements; at the top level, the
        # available expressions the backward statements are written from, below)
        pairs: list[tuple[ast.stmt, list[ast.stmt], Any]] = []
        for position, statement in enumerate(statements):
            if isinstance(statement, COMPOUND):
                written = assigned(statement)
                fwd, bwd = self.compound(statement, depth, known.without(written), top)
                known.forget(written, position)
                pairs.append((statement, fwd, bwd))
                continue
            # the backward statements see the state after the statement: what it
            # assigns is no longer what the forward sweep computed before
            known.forget(targets(statement), position)
            if isinstance(statement, ast.Try):  # at the top level too: it assigns in place
                pairs.append((statement, *self.opaque(statement, depth)))
                continue
            view = known.at(position) if self.reusing else _Nothing()
            if top:
                pairs.append((statement, [statement], view))  # backward written below
                if isinstance(statement, ast.Assign):
                    self.bound.add(name_id(statement.targets[0]))
            else:
                pairs.append((statement, *self.simple(statement, depth, view)))
            known.learn(statement, position)
        if depth and self.rematerializing:
            pairs = self.rematerialize(pairs, versions)
        forward, backward = [], []
        for _, fwd, _ in pairs:
            forward += fwd
        for statement, _, bwd in reversed(pairs):
            if not top or isinstance(statement, ast.Try):
                backward += bwd
            elif isinstance(statement, COMPOUND):
                # adjoints it reads before anything wrote them start at zero
                backward += self.adjoints.initialise(bwd) + bwd
            else:
                backward += self.adjoints.statement(statement, True, bwd)
        return forward, backward

    def simple(self, statement: ast.stmt, depth: int,
               available: Available) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """A statement that is not compound, inside a compound one: its backward
        statements, the reset of its target's adjoint, and the save and restore of the
        value it overwrites."""
        if not isinstance(statement, ast.Assign):
            return [statement], []  # break, print(...), assert: forward only
        target, value = name_id(statement.targets[0]), statement.value
        if isinstance(value, ast.Name) and value.id == target:
            return [statement], []  # y = y changes nothing
        backward = self.adjoints.statement(statement, False, available)
        if target in self.adjoints.active and target not in self.adjoints.local_temporaries:
            reset = ast.Assign([ast.Name(self.adjoints.adjoint(target), ast.Store())],
                               ast.Constant(0.0))
            set_anno(reset, "grad_of", self.adjoints.origin(statement))
            backward.append(reset)
            # the value it restores may be an array (c = np.sum(W, axis=0), then c = 1.0
            # in the loop): the rule that made it must not take the 0.0 for its adjoint
            self.adjoints.maybe_zero.add(target)
        if depth == 0 and target not in self.bound:  # no earlier value: nothing to save
            self.bound.add(target)
            return [statement], backward
        self.bound.add(target)
        if self.in_place and isinstance(value, ast.Call) and \
                get_anno(value, "write_in_place") and len(value.args) == 3:
            return self.write_in_place(statement, value, backward)
        return [_marker("save", target), statement], backward + [_marker("restore", target)]

    def write_in_place(self, statement: ast.Assign, value: ast.Call,
                       backward: list[ast.stmt]) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """``new = set_item(a, i, v)`` as ``new = write_item(a, i, v, tape)``: ``a``
        changed in place, the part overwritten pushed first; after the statement's own
        backward statements, ``restore_item(a, i, tape.pop())`` writes it back.

        Why it is right. ``analyse`` marked the change: no name but ``a``'s class can
        refer to the array, none of them is read after the change in the forward sweep,
        and the array is the function's own (``_mark_writes_in_place``). So only the
        backward sweep can see the old array, through the names it restores. Each change
        is undone where the backward sweep passes it, after every later change has been
        undone; so when the backward statements of any statement run, the array holds
        what it held right after that statement, the invariant that saving a copy of the
        old array kept. The saves and restores of ``new`` and ``a`` themselves are those
        of any assignment (the same array, now). The push and the change are one call,
        which no pass moves or removes (a call that may raise)."""
        target = name_id(statement.targets[0])
        from .array_rules import helper_name
        array, index, item = value.args
        tape = ast.Name(self.tape_of(target), ast.Load())
        write = ast.Call(ast.Name(helper_name(self.function, "write_item"), ast.Load()),
                         [array, index, item, tape], [])
        ast.copy_location(write, value)
        changed = _same_place(ast.Assign([ast.Name(target, ast.Store())], write), statement)
        for key in ("primal", "line", "where", "in_place"):
            if get_anno(statement, key) is not None:
                set_anno(changed, key, get_anno(statement, key))
        undo = _same_place(ast.Expr(ast.Call(
            ast.Name(helper_name(self.function, "restore_item"), ast.Load()),
            [copy_tree(array), copy_tree(index), self.tape_call("pop", key=target)], [])),
            statement)
        return [_marker("save", target), changed], \
            backward + [undo, _marker("restore", target)]

    def opaque(self, statement: ast.Try, depth: int) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """A ``try`` run as written: forward only, with the save and restore of each
        value it may overwrite (its names are inactive). Unlike an assignment it keeps
        its names at the top level too (``lower``): a value it overwrites there is
        saved as well, where the backward sweep reads it."""
        saved = [t for t in targets(statement) if depth or t in self.bound]
        self.bound.update(targets(statement))
        return [*(_marker("save", t) for t in saved), statement], \
            [_marker("restore", t) for t in reversed(saved)]

    # -- compound statements -------------------------------------------------------
    def compound(self, statement: ast.If | ast.For | ast.While, depth: int, available: _Available,
                 top: bool) -> tuple[list[ast.stmt], list[ast.stmt]]:
        if isinstance(statement, ast.If):
            return self.branch(statement, depth, available, top)
        return self.loop(statement, depth, available)

    def branch(self, statement: ast.If, depth: int, available: _Available, top: bool
               ) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """The backward sweep replays the branch taken. It may evaluate the test again
        only if the branch assigns nothing the test reads; otherwise the decision is
        kept in a variable of its own (saved on the tape like any value, in a loop)."""
        test = statement.test
        before_forward: list[ast.stmt] = []
        after_backward: list[ast.stmt] = []
        if operands(test) & assigned(statement):
            decision = self.namer.fresh("taken")
            self.function.synthetic.add(decision)
            assign = _same_place(ast.Assign([ast.Name(decision, ast.Store())], test), statement)
            if top:  # assigned once: nothing to save
                before_forward = [assign]
            else:
                before_forward, after_backward = self.simple(assign, depth, _Nothing())
            test = ast.Name(decision, ast.Load())
        # what the body binds is not bound in the else branch, and is after the branch
        mark = len(self.bound.added)
        fb, bb = self.block(statement.body, depth, available)
        in_body = self.bound.forget_since(mark)
        fo, bo = self.block(statement.orelse, depth, available)
        self.bound.update(in_body)
        forward = _same_place(ast.If(test, fb or [ast.Pass()], fo), statement)
        set_anno(forward, "primal", id(statement))
        backward = _same_place(ast.If(copy_tree(test), bb or [ast.Pass()], bo), statement)
        return before_forward + [forward], [backward] + after_backward

    def loop(self, statement: ast.For | ast.While, depth: int,
             available: _Available) -> tuple[list[ast.stmt], list[ast.stmt]]:
        counter = self.namer.fresh("iterations")
        self.function.synthetic.add(counter)
        body_forward, body_backward = self.block(statement.body, depth + 1, available)
        count = ast.AugAssign(ast.Name(counter, ast.Store()), ast.Add(), ast.Constant(1))
        counting: list[ast.stmt] = [ast.Assign([ast.Name(counter, ast.Store())], ast.Constant(0)),
                                    count]
        prefix: list[ast.stmt] = [count]
        if isinstance(statement, ast.For):
            loop: ast.For | ast.While = ast.For(copy_tree(statement.target), statement.iter, [],
                                                [])
            names = targets(statement)
            self.bound.update(names)
            prefix.append(_marker("save_targets", ",".join(names), loop=loop))
            # Each iteration binds the targets to an item of the iterable (data, never
            # active): what their adjoints hold then belongs to no earlier value.
            for name in names:
                if name in self.adjoints.active:
                    reset = ast.Assign([ast.Name(self.adjoints.adjoint(name), ast.Store())],
                                       ast.Constant(0.0))
                    set_anno(reset, "grad_of", f"for {ast.unparse(statement.target)} in ...")
                    body_backward.append(reset)
            body_backward += [_marker("restore", t) for t in reversed(names)]
        else:
            loop = ast.While(statement.test, [], [])
        loop.body = prefix + body_forward
        if self.typed and depth == 0 and isinstance(statement, ast.For) and \
                isinstance(statement.iter, ast.Call) and \
                ast.unparse(statement.iter.func).endswith("range"):
            # its own saves (not those of loops inside it) go on tapes of their own
            for marker in _markers_outside_loops(loop.body + body_backward):
                set_anno(marker, "bounded", counter)
        set_anno(loop, "primal", id(statement))
        forward = [counting[0], _same_place(loop, statement)]
        if depth:  # a repeated loop: its trip counts go on the tape
            push = self.tape_call("append", ast.Name(counter, ast.Load()), key=counter)
            forward.append(push)
            counting.append(push)
            trips: ast.expr = self.tape_call("pop", key=counter)
        else:
            trips = ast.Name(counter, ast.Load())
        replay = ast.For(ast.Name(self.replay_variable(), ast.Store()),
                         ast.Call(runtime_name("range"), [trips], []),
                         body_backward or [ast.Pass()], [])
        self.loops.append((replay, counting))
        if not depth:  # (checkpoint: the loop's replay, for a loop outside loops)
            set_anno(replay, "replay_of", id(statement))
        return forward, [_same_place(replay, statement)]

    def replay_variable(self) -> str:
        """The variable of backward loops: ``_``, unless the function uses that name."""
        if not hasattr(self, "_replay"):
            self._replay = self.namer.reserve("_")
            self.function.synthetic.add(self._replay)
        return self._replay

    @overload
    def tape_call(self, method: str, *, key: _TapeKey) -> ast.Call:
        ...

    @overload
    def tape_call(self, method: str, argument: ast.expr, /, *more: ast.expr,
                  key: _TapeKey) -> ast.Expr:
        ...

    def tape_call(self, method: str, *args: ast.expr, key: _TapeKey) -> ast.Call | ast.Expr:
        """``tape.method(*args)``: a value without arguments (``pop``), else a
        statement (``append``). ``key``: the variable saved (typed code: its own tape;
        ``(variable, counter)``: its tape in the loop counted by ``counter``)."""
        call = ast.Call(ast.Attribute(ast.Name(self.tape_of(key), ast.Load()), method,
                                      ast.Load()), list(args), [])
        if not args:
            return call
        push = ast.Expr(call)
        set_anno(push, "push", True)  # (checkpoint: a stretch run untaped leaves it out)
        return push

    def tape_of(self, key: _TapeKey) -> str:
        """The tape that saves ``key``: the one tape, or in typed code ``key``'s own. A
        variable's pushes and pops are a subsequence of the one tape's, so each pop
        still finds the value its push saved (so are those of one loop's saves)."""
        if not self.typed:
            return self.tape
        if key not in self.tapes:
            variable = key[0] if isinstance(key, tuple) else key
            self.tapes[key] = self.namer.fresh(f"tape_{variable}")
            self.function.synthetic.add(self.tapes[key])
            if isinstance(key, tuple):
                self.bounded[self.tapes[key]] = key[1]
        return self.tapes[key]

    def marker_key(self, marker: ast.stmt, variable: str) -> _TapeKey:
        counter = get_anno(marker, "bounded")
        return variable if counter is None else (variable, counter)

    # -- recomputation instead of taping -------------------------------------------------
    def rematerialize(self, pairs: list[tuple[ast.stmt, list[ast.stmt], Any]],
                      versions: Block) -> list[tuple[ast.stmt, list[ast.stmt], Any]]:
        """In a loop body, a variable ``t = op(a, b)`` computed by cheap arithmetic
        (``_recomputable``), assigned by no other statement of the function and read only
        by later statements of this block (forward or backward), is recomputed at the
        start of the backward statements of its last reader, ``P``, instead of being
        pushed and popped.

        Why it is right. By the invariant, when the backward statements of the statement
        at ``P`` start, every variable the backward sweep reads (all of whose saves and
        restores ``materialize`` then writes) holds what it held right after that
        statement in the forward sweep: each later assignment has been undone. So an
        operand holds what it held when ``t`` was computed if no statement from ``t``'s
        (excluded: it does not assign its operands) to ``P``'s (included) may assign it;
        or if it is itself recomputed at the start of ``P``'s backward statements or
        earlier in the backward sweep (a later statement's, or the same place, written
        before: the recomputations at one place go in program order), and nothing else
        in the backward sweep assigns it (it has no saves, its one recomputation). An
        operand's recomputation is moved to ``P`` when ``P`` comes later than its own
        place in the forward order, if its operands hold there in turn. Each
        recomputation runs once in each replay of the block, after the forward sweep
        computed the same expression from the same values without raising, so it gives
        the same value and does not raise either.

        Which are worth it. A temporary of the lowering none of whose operands is
        recomputed is recomputed whenever that is right (``materialize`` drops the
        recomputation if nothing reads it). A user variable, or one that reads a
        recomputed operand (a chain), only when each operand it leaves to the tape
        (neither recomputed nor single-valued), down the chain, is one this block's
        backward statements read anyway: else it would trade its own tape entry for its
        operand's (``vm = v + dt * a`` for ``a``, which only ``vm`` reads)."""
        if not any(isinstance(statement, ast.Assign) for statement, _, _ in pairs):
            return pairs
        # who reads what, found once (a scan per candidate was quadratic in the body)
        forward_reads = [Counter(reads(statement)) for statement, _, _ in pairs]
        # the positions of the statements that change an array in place (nested ones
        # included), for each name that may refer to it: the name is not assigned there,
        # but what it holds changes (a view ``item = u[1:]`` of ``u[1:] = ...``)
        changed_at: dict[str, list[int]] = {}
        if self.in_place:
            for position, (statement, _, _) in enumerate(pairs):
                for inner in statements_of([statement]):
                    if isinstance(inner, ast.Assign) and get_anno(inner.value, "write_in_place"):
                        for name in get_anno(inner.value, "aliases", ()):
                            changed_at.setdefault(name, []).append(position)
        readers_of: dict[str, list[int]] = {}
        read_backward: set[str] = set()  # by the backward statements themselves
        for j, (_, _, bwd) in enumerate(pairs):
            read_here = {name for b in bwd for name in reads(b)}  # (markers read nothing)
            read_backward |= read_here
            for name in read_here | set(forward_reads[j]):
                readers_of.setdefault(name, []).append(j)
        chosen: dict[str, _Recomputation] = {}

        def holds(names: set[str], after: int, place: int, strict: bool) -> bool:
            """Whether each of ``names``, read by the statement at ``after``, holds what
            it held there at the start of the backward statements of ``place``."""
            for name in names:
                redo = chosen.get(name)
                if redo is not None:
                    if not holds(redo.operands, redo.position, place, True):
                        return False
                elif versions.assigned_in(name, after + 1, place) or any(
                        after < position <= place for position in changed_at.get(name, ())):
                    return False
                elif strict and name not in read_backward and \
                        not self.facts.single_valued(name):
                    return False
            return True

        for i, (statement, fwd, bwd) in enumerate(pairs):
            if not (isinstance(statement, ast.Assign)
                    and isinstance(statement.value, (ast.BinOp, ast.UnaryOp))
                    and isinstance(statement.targets[0], ast.Name)
                    and self.facts.definitions(name_id(statement.targets[0])) == 1
                    and _recomputable(statement.value)):
                continue
            temporary = name_id(statement.targets[0])
            sources = operands(statement.value)
            if temporary in sources:
                continue
            # its readers: forward statements, and backward statements (partials may
            # read it where it is available, ``reuse``)
            readers = [j for j in readers_of.get(temporary, ()) if j > i]
            if not readers:
                continue
            last = readers[-1]
            here = sum(forward_reads[j][temporary] for j in readers)
            if here != self.loads.get(temporary, 0):
                continue  # read somewhere else too
            strict = temporary not in self.function.synthetic or bool(sources & set(chosen))
            if not holds(sources, i, last, strict):
                continue
            chosen[temporary] = _Recomputation(i, last, sources)
        if not chosen:
            return pairs
        # The recomputations ``materialize`` will keep are among those the backward
        # statements read and those a kept one reads; each of their operands that is
        # recomputed moves to its place if that comes later (``holds`` checked it there).
        kept = {name for name in chosen if name in read_backward}
        for temporary in reversed(chosen):  # a recomputation's readers come after it
            if temporary in kept:
                for name in chosen[temporary].operands & set(chosen):
                    kept.add(name)
                    chosen[name].place = max(chosen[name].place, chosen[temporary].place)
        self.redone = True
        result = list(pairs)
        redos: dict[int, list[ast.stmt]] = {}
        for temporary, redo in chosen.items():  # in program order
            statement, fwd, bwd = result[redo.position]
            keep: Callable[[ast.stmt], bool] = lambda s: get_anno(s, "variable") != temporary
            result[redo.position] = (statement, [s for s in fwd if keep(s)],
                                     [s for s in bwd if keep(s)])
            assign = cast(ast.Assign, statement)
            again = _same_place(ast.Assign([ast.Name(temporary, ast.Store())],
                                           copy_tree(assign.value)), statement)
            set_anno(again, "redo", True)  # dropped in materialize if nothing reads it
            redos.setdefault(redo.place, []).append(again)
        for place, statements in redos.items():
            reader, rfwd, rbwd = result[place]
            result[place] = (reader, rfwd, statements + rbwd)
        return result

    # -- tape operations, decided last ---------------------------------------------
    def materialize(self, forward: list[ast.stmt],
                    backward: list[ast.stmt]) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """Replace the markers by tape operations for the variables the backward sweep
        reads, then drop replays that do nothing (with the counting that fed them)."""
        # Recomputations stay only for temporaries the backward sweep reads.
        if self.redone:
            # A fixed point: a recomputation kept reads names that make more of the
            # backward sweep needed (a replay whose restores now matter, and the test
            # it replays), which may need more recomputations (campaign scalar seed
            # 632212: a loop's branch test read, stale, after the loop).
            # Each round reads the backward sweep without the recomputations not kept
            # (skipped where they stand, not removed from a copy), and what each of its
            # statements reads is found once for all the rounds.
            cache: dict[int, tuple[ast.AST, set[str]]] = {}
            keep: set[str] = set()
            while (found := _needed(backward, keep, cache)) != keep:
                keep = found
            backward = _without_redos(backward, keep)
            needed = keep  # _needed of exactly this backward sweep: the last round's
        elif self.branches_or_loops:
            needed = _needed(backward)
        else:  # straight-line code: no markers to decide, no replays, no tape
            needed = set()
        saved: list[str] = []
        if self.shape_only_enabled and self.branches_or_loops:
            self.stand_ins = self.shape_only(backward, needed)
        forward = self.replace_markers(forward, needed, saved)
        backward = _drop_empty(self.replace_markers(backward, needed, saved))
        if self.loops:
            live = _statement_ids(backward)  # replays are statements
            dropped = {id(s) for replay, counting in self.loops if id(replay) not in live
                       for s in counting}
            forward = _remove(forward, dropped)
        tapes = {self.tape, *self.tapes.values()}
        used = {n.id for s in forward + backward for n in walk_code(s)
                if isinstance(n, ast.Name) and n.id in tapes} if self.branches_or_loops else set()
        if self.typed:
            return self.typed_prelude(forward, backward, used, saved)
        if not used:  # no saved values, no counts of repeated loops
            return forward, backward
        prelude = [ast.Assign([ast.Name(self.tape, ast.Store())], ast.List([], ast.Load()))]
        # A variable first bound inside a compound statement has no old value to save
        # the first time: bind it to None up front; a read Python would find unbound
        # is then checked, so that the gradient raises where the function does.
        unbound = [v for v in dict.fromkeys(saved)
                   if v not in self.parameters and not _bound_before_compounds(v, forward)]
        prelude += [ast.Assign([ast.Name(v, ast.Store())], ast.Constant(None)) for v in unbound]
        if unbound and self.unbound:
            forward = self.checked(forward, set(unbound))
        return prelude + forward, backward

    def shape_only(self, backward: list[ast.stmt], needed: set[str]) -> set[str]:
        """The saved variables whose restored values the backward sweep reads only for
        their shape and dtype: every read of them in it is an argument of a runtime
        helper that reads no more of it (``_SHAPE_ONLY_ARGUMENTS``: the ``like`` of
        ``unbroadcast``, ``broadcast_like``, ``zero_item``...) or of ``numpy.shape``,
        ``numpy.ndim``, ``numpy.size``. Parameters are left out (``finish`` reads them
        after the sweep), and variables known to hold numbers. Each is taped as
        ``stand_in(v)``, which keeps an array's type, shape and dtype and none of its
        numbers: ``acc += numpy.tanh(X[i] * w)`` in a loop kept every ``acc`` for the
        ``like`` of its adjoint's ``unbroadcast``.

        Why it is right: the values restored from the tape are read by the backward
        sweep alone (the forward sweep has ended when the first is popped); a stand-in
        answers every question those reads ask as the value would; and the optimiser,
        run after, rewrites a read only into one that gives the same result for any
        value a ``tape.pop()`` may return (it knows nothing of what the tape holds but
        its kind, which a stand-in keeps)."""
        helpers = {local: origin[1] for local, origin in self.function.parsed.origins.items()
                   if origin[0] == "helper" and origin[1] in _SHAPE_ONLY_ARGUMENTS}
        kinds = self.function.kinds  # a number's stand-in is the number: no call for it
        candidates = {v for v in needed - set(self.parameters)
                      if v not in kinds or kinds[v].is_array}
        if not helpers or not candidates:
            return set()
        # A top-level statement of the sweep before every one holding a restore of ``v``
        # reads the value the forward sweep left in ``v``, never a restored one.
        restored: set[str] = set()
        for_value: set[str] = set()
        for top in backward:
            restores = {get_anno(s, "variable") for s in statements_of([top])
                        if get_anno(s, "marker") == "restore"}
            restored |= restores & candidates
            if restored:
                for_value |= _read_for_value(top, helpers) & restored
        return restored - for_value

    def saved_value(self, variable: str) -> ast.expr:
        """What a save pushes: the variable, or ``stand_in(variable)`` (``shape_only``)."""
        if variable not in self.stand_ins:
            return ast.Name(variable, ast.Load())
        from .array_rules import helper_name
        return ast.Call(ast.Name(helper_name(self.function, "stand_in"), ast.Load()),
                        [ast.Name(variable, ast.Load())], [])

    def typed_prelude(self, forward: list[ast.stmt], backward: list[ast.stmt], used: set[str],
                      saved: list[str]) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """``materialize``'s end for typed code: its tapes, and a number of its type for
        each variable saved before its first assignment; a compiled read of an unbound
        variable reads a value instead of raising, so each variable a read may find
        unbound gets a flag, set where it is assigned and tested before that read."""
        prelude: list[ast.stmt] = []
        for tape in self.tapes.values():
            if tape in used:
                prelude.append(ast.Assign([ast.Name(tape, ast.Store())], ast.List([], ast.Load())))
                if tape in self.bounded:
                    set_anno(prelude[-1], "bounded", self.bounded[tape])
        may_be_unbound = set().union(*self.unbound.values()) if self.unbound else set()
        placeholders = [v for v in dict.fromkeys(saved) if v not in self.parameters
                        and not _bound_before_compounds(v, forward)]
        placeholders += sorted(may_be_unbound - set(placeholders))
        types = _value_types(forward, self.parameters)
        prelude += [ast.Assign([ast.Name(v, ast.Store())], ast.Constant(
            {"bool": False, "int": 0}.get(types.get(v, "float"), 0.0))) for v in placeholders]
        if may_be_unbound:
            flags = {}
            for v in sorted(may_be_unbound):
                flags[v] = self.namer.fresh(f"{v}_bound")
                self.function.synthetic.add(flags[v])
                prelude.append(ast.Assign([ast.Name(flags[v], ast.Store())],
                                          ast.Constant(False)))
            forward = self.checked(forward, may_be_unbound, flags)
        return prelude + forward, backward

    def checked(self, statements: list[ast.stmt], prebound: set[str],
                flags: dict[str, str] | None = None) -> list[ast.stmt]:
        """``statements`` with ``if v is None: raise UnboundLocalError(...)`` before each
        read of a variable ``v`` bound to None up front that Python may find unbound.
        ``flags``: typed code's flag of each such variable instead, ``if not v_bound:``,
        set true after each assignment to ``v``."""
        result: list[ast.stmt] = []
        for statement in statements:
            key = get_anno(statement, "primal", id(statement))
            # a try's reads may come after its own assignments, or in a handler that may
            # not run (fuzz seed 1053: `caught = ...` in the body, `caught * 0.5` in its
            # else): no test before it, which would raise where Python does not
            unbound = set() if isinstance(statement, ast.Try) else self.unbound.get(key, set())
            for name in sorted(unbound & prebound):
                message = (f"cannot access local variable {name!r} where it is not "
                           "associated with a value")
                unbound_test: ast.expr = ast.Compare(
                    ast.Name(name, ast.Load()), [ast.Is()], [ast.Constant(None)]) \
                    if flags is None else ast.UnaryOp(ast.Not(), ast.Name(flags[name],
                                                                          ast.Load()))
                check = ast.If(unbound_test,
                               [ast.Raise(ast.Call(runtime_name("UnboundLocalError"),
                                                   [ast.Constant(message)], []), None)], [])
                result.append(_same_place(check, statement))
            if isinstance(statement, COMPOUND):
                statement.body = self.checked(statement.body, prebound, flags) or [ast.Pass()]
                statement.orelse = self.checked(statement.orelse, prebound, flags)
            result.append(statement)
            if flags is None:
                continue
            bound = [flags[n] for n in sorted(set(targets(statement)) & set(flags))] \
                if isinstance(statement, ast.Assign) else []
            if isinstance(statement, ast.For):  # its targets, bound at each iteration
                statement.body[:0] = [ast.Assign([ast.Name(flags[n], ast.Store())],
                                                 ast.Constant(True))
                                      for n in sorted(set(targets(statement)) & set(flags))]
            result += [ast.Assign([ast.Name(f, ast.Store())], ast.Constant(True))
                       for f in bound]
        return result

    def replace_markers(self, statements: list[ast.stmt], needed: set[str], saved: list[str]) -> list[ast.stmt]:
        result = []
        for statement in statements:
            kind = get_anno(statement, "marker")
            if kind is None:
                for field in ("body", "orelse"):
                    if isinstance(getattr(statement, field, None), list) and field in statement._fields:
                        setattr(statement, field, self.replace_markers(
                            getattr(statement, field), needed, saved) or
                            ([ast.Pass()] if field == "body" else []))
                result.append(statement)
                continue
            variable = get_anno(statement, "variable")
            if kind == "save" and variable in needed:
                saved.append(variable)
                result.append(self.tape_call("append", self.saved_value(variable),
                                             key=self.marker_key(statement, variable)))
            elif kind == "restore" and variable in needed:
                result.append(ast.Assign([ast.Name(variable, ast.Store())], self.tape_call(
                    "pop", key=self.marker_key(statement, variable))))
            elif kind == "save_targets":
                loop = get_anno(statement, "loop")
                for name in variable.split(","):
                    if name in needed:
                        saved.append(name)
                        fresh = self.namer.fresh(name + "_next")
                        self.function.synthetic.add(fresh)
                        _rename_target(loop, name, fresh)
                        result.append(self.tape_call("append", self.saved_value(name),
                                                     key=self.marker_key(statement, name)))
                        result.append(ast.Assign([ast.Name(name, ast.Store())],
                                                 ast.Name(fresh, ast.Load())))
        return result


class _Recomputation:
    """A variable ``rematerialize`` recomputes: the position of its statement in the
    block, the position whose backward statements start with its recomputation, and the
    names it reads."""

    def __init__(self, position: int, place: int, operands: set[str]) -> None:
        self.position = position
        self.place = place
        self.operands = operands


def _recomputable(value: ast.expr) -> bool:
    """Arithmetic cheap enough to recompute rather than tape: what ``cannot_raise``
    allows, and division (recomputed only after the forward sweep divided the same
    values: it does not raise then either)."""
    return cannot_raise(value) or (isinstance(value, ast.BinOp)
                                   and isinstance(value.op, ast.Div))


class _Bound:
    """The variables assigned so far, in program order, with the order they were added
    in: a branch takes back what its body added, for its else branch, without a copy
    of them all (a copy per branch was quadratic in a body of many branches)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = set(names)
        self.added: list[str] = []

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def add(self, name: str) -> None:
        if name not in self.names:
            self.names.add(name)
            self.added.append(name)

    def update(self, names: Iterable[str]) -> None:
        for name in names:
            self.add(name)

    def forget_since(self, mark: int) -> list[str]:
        """Take back the names added since ``len(self.added)`` was ``mark``."""
        taken = self.added[mark:]
        del self.added[mark:]
        self.names.difference_update(taken)
        return taken


class _Available:
    """The expressions the forward sweep computes in one block, with the variables
    holding them, as spans of positions: an expression computed at position ``i`` into
    ``c`` is available at the positions after ``i``, up to and including none that
    assigns ``c`` or an operand (available expressions, as in ``optimize.propagate``).
    ``at(k)`` answers for the backward statements of position ``k``, which see the state
    after the statement at ``k`` ran.

    A compound statement's block (``without``) inherits what is open in the enclosing
    one when it begins, except the expressions on names the statement assigns, as spans
    from before the block (``INHERITED``). It reads them from the enclosing block when
    asked, which does not change while the inner one is used (it is suspended), instead
    of copying them all: a copy per compound statement was quadratic in a body of many
    branches. ``closed``: inherited expressions this block assigned an operand of."""

    INHERITED = -1  # the start of spans valid from before the block

    def __init__(self, everywhere: dict[Hashable, str] | None = None,
                 parent: "_Available | None" = None, excluded: frozenset[str] = frozenset()
                 ) -> None:
        self.everywhere = everywhere or {}  # key -> variable, valid at every position
        self.parent = parent  # the enclosing block's, unchanged while this one is used
        self.excluded = excluded  # expressions on these names are not inherited
        self.spans: dict[Hashable, list[list[Any]]] = {}  # key -> [start, end, variable] spans
        self.open: dict[Hashable, list[Any]] = {}          # key -> its span still open
        self.names: dict[Hashable, set[str]] = {}     # key -> names its open span depends on
        self.by_name: dict[str, set[Hashable]] = {}   # name -> keys with open spans on it
        self.closed: dict[Hashable, int] = {}  # inherited key -> where its span ends here
        self.inherits: bool | None = None  # whether anything is inherited, once asked

    def inherited(self, key: Hashable) -> tuple[str, set[str]] | None:
        """The variable holding ``key`` and its names, if open in the enclosing block
        when this one began and not on an excluded name."""
        if self.parent is None:
            return None
        found = self.parent.open_entry(key)
        if found is None or not found[1].isdisjoint(self.excluded):
            return None
        return found

    def open_entry(self, key: Hashable) -> tuple[str, set[str]] | None:
        """The variable holding ``key`` and its names, if its span is open here."""
        span = self.open.get(key)
        if span is not None:
            return span[2], self.names[key]
        if key in self.closed:
            return None
        return self.inherited(key)

    def open_keys_on(self, name: str) -> list[Hashable]:
        """The keys open here whose expressions are on ``name``."""
        keys = list(self.by_name.get(name, ()))
        if self.parent is not None:
            for key in self.parent.open_keys_on(name):
                if key not in self.closed and key not in self.open and \
                        self.inherited(key) is not None:
                    keys.append(key)
        return keys

    def open_items(self) -> Iterator[tuple[Hashable, tuple[str, set[str]]]]:
        """Every key open here, with its variable and names (this block's own first)."""
        for key, span in self.open.items():
            yield key, (span[2], self.names[key])
        if self.parent is not None:
            for key, (variable, names) in self.parent.open_items():
                if key not in self.closed and key not in self.open and \
                        names.isdisjoint(self.excluded):
                    yield key, (variable, names)

    def spans_of(self, key: Hashable) -> list[list[Any]]:
        """Every span of ``key`` here: the inherited one first, then this block's own."""
        own = self.spans.get(key, [])
        found = self.inherited(key)
        if found is None:
            return own
        return [[self.INHERITED, self.closed.get(key, float("inf")), found[0]], *own]

    def has_spans(self) -> bool:
        """Whether any span was ever open here (inherited, or of this block)."""
        if self.spans:
            return True
        if self.inherits is None:
            self.inherits = self.parent is not None and any(
                names.isdisjoint(self.excluded) for _, (_, names) in self.parent.open_items())
        return self.inherits

    def add(self, key: Hashable, variable: str, names: set[str], start: int) -> None:
        span = [start, float("inf"), variable]
        self.spans.setdefault(key, []).append(span)
        self.open[key] = span
        self.names[key] = names
        for name in names:
            self.by_name.setdefault(name, set()).add(key)

    def learn(self, statement: ast.stmt, position: int) -> None:
        if not (isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)):
            return
        value = statement.value
        if not isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Call)) or \
                get_anno(value, "recursive") is not None:
            return
        key = expression_key(value)
        target = statement.targets[0].id
        names = set(operands(value))
        if key is None or target in names or self.open_entry(key) is not None:
            return
        self.add(key, target, names | {target}, position)

    def forget(self, names: Iterable[str], position: int) -> None:
        """The statement at ``position`` assigns ``names``."""
        for name in names:
            if self.parent is not None:
                for key in self.parent.open_keys_on(name):
                    if key not in self.closed and key not in self.open and \
                            self.inherited(key) is not None:
                        self.closed[key] = position
            for key in self.by_name.pop(name, ()):
                span = self.open.pop(key, None)
                if span is not None:
                    span[1] = position
                for other in self.names.pop(key, ()):
                    if other != name:
                        self.by_name.get(other, set()).discard(key)

    def without(self, names: set[str]) -> "_Available":
        """What stays available throughout a compound statement assigning ``names``."""
        return _Available(self.everywhere, self, frozenset(names))

    def at(self, position: int) -> "_AvailableAt":
        return _AvailableAt(self, position)


class _AvailableAt:
    """``_Available`` seen from one position: ``get(key)`` is a variable or None."""

    def __init__(self, available: _Available, position: int) -> None:
        self.available, self.position = available, position

    def get(self, key: Hashable) -> str | None:
        for start, end, variable in self.available.spans_of(key):
            if start < self.position < end:
                return cast(str, variable)
        return self.available.everywhere.get(key)

    def __bool__(self) -> bool:
        return bool(self.available.has_spans() or self.available.everywhere)


class _Nothing:
    def get(self, key: object) -> None:
        return None

    def __bool__(self) -> bool:
        return False


def _single_use_temporaries(function: Function, facts: Facts, loads: dict[str, int]) -> set[str]:
    """Synthetic variables assigned once and read once, by a statement of the same block
    (not nested deeper, where the read might not happen)."""
    found = set()

    def visit(block: list[ast.stmt]) -> None:
        read_here = {n.id for s in block if not isinstance(s, COMPOUND) for n in walk_code(s)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for statement in block:
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
                name = statement.targets[0].id
                # read once in all, and that read is a plain statement of this block
                if name in function.synthetic and facts.definitions(name) == 1 \
                        and loads.get(name) == 1 and name in read_here:
                    found.add(name)
            if isinstance(statement, COMPOUND):
                visit(statement.body)
                visit(statement.orelse)
    visit(function.body)
    return found


def _without_redos(statements: list[ast.stmt], keep: set[str]) -> list[ast.stmt]:
    """``statements`` without the recomputations of temporaries not in ``keep``."""
    result = []
    for statement in statements:
        if get_anno(statement, "redo") and name_id(cast(ast.Assign, statement).targets[0]) not in keep:
            continue
        if isinstance(statement, COMPOUND):  # in place: loops are known by identity
            statement.body = _without_redos(statement.body, keep)
            statement.orelse = _without_redos(statement.orelse, keep)
        result.append(statement)
    return result


# The runtime helpers' arguments read for their shape, dtype and type alone (by
# position), which ``runtime.stand_in`` of an array answers as the array does.
_SHAPE_ONLY_ARGUMENTS: dict[str, tuple[int, ...]] = {
    "broadcast_like": (1,), "unbroadcast": (1,), "unbroadcast_product": (2,),
    "scatter": (1,), "scatter_add": (2,), "zero_item": (1,), "assigned": (1, 3),
    "gradient_like": (1,), "number_like": (1,), "diagonal_vjp": (1,),
    "diagonal_adjoint": (1,), "take_adjoint": (1,), "tile_adjoint": (1,),
    "repeat_adjoint": (1,), "einsum_adjoint": (3,)}
_NUMPY_SHAPE_FUNCTIONS = {"shape": (0,), "ndim": (0,), "size": (0,)}


def _shape_only_positions(call: ast.Call, helpers: dict[str, str]) -> tuple[int, ...]:
    """The positions of ``call``'s arguments read for their shape alone: a runtime
    helper's (``helpers``: the names generated code calls them by), or the array of
    ``numpy.shape``, ``numpy.ndim``, ``numpy.size`` (one argument)."""
    func = call.func
    if type(func) is ast.Name:
        helper = helpers.get(func.id)
        return _SHAPE_ONLY_ARGUMENTS[helper] if helper is not None else ()
    if type(func) is ast.Attribute and type(func.value) is ast.Name \
            and get_anno(func.value, "runtime") == "numpy" and len(call.args) == 1 \
            and not call.keywords:
        return _NUMPY_SHAPE_FUNCTIONS.get(func.attr, ())
    return ()


def _read_for_value(statement: ast.stmt, helpers: dict[str, str]) -> set[str]:
    """The names ``statement`` reads, but for those read only as a shape-only argument
    (``_shape_only_positions``)."""
    found: set[str] = set()
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if type(node) is ast.Name:
            if type(node.ctx) is ast.Load:
                found.add(node.id)
            continue
        if type(node) is ast.Call:
            positions = _shape_only_positions(node, helpers)
            if positions:
                stack.append(node.func)
                stack += [a for i, a in enumerate(node.args)
                          if not (i in positions and type(a) is ast.Name)]
                stack += node.keywords
                continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def _needed(backward: list[ast.stmt], keep: set[str] | None = None,
            cache: dict[int, tuple[ast.AST, set[str]]] | None = None) -> set[str]:
    """The primal names the backward sweep reads, not counting replays that will turn
    out empty (a fixed point: a replay holds something once a restore in it is needed).
    ``keep``: the backward sweep read without the recomputations (``redo``) of the
    temporaries not in ``keep``, as ``_without_redos`` would leave it. ``cache``: what
    each node reads, by id, shared by calls on the same, unchanged, statements."""
    reads_cache: dict[int, tuple[ast.AST, set[str]]] = {} if cache is None else cache

    def reads_of(node: ast.AST) -> set[str]:
        found = reads_cache.get(id(node))
        if found is None or found[0] is not node:
            found = reads_cache[id(node)] = (node, {
                n.id for n in walk_code(node) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Load)})
        return found[1]

    def collect(statements: list[ast.stmt], needed: set[str]) -> tuple[set[str], bool]:
        names, content = set(), False
        for statement in statements:
            if keep is not None and get_anno(statement, "redo") and \
                    name_id(cast(ast.Assign, statement).targets[0]) not in keep:
                continue
            kind = get_anno(statement, "marker")
            if kind is not None:
                content |= kind == "restore" and get_anno(statement, "variable") in needed
                continue
            if isinstance(statement, COMPOUND):
                inner, has = collect(statement.body + statement.orelse, needed)
                if has:
                    header = statement.test if not isinstance(statement, ast.For) else statement.iter
                    names |= inner | reads_of(header)
                    content = True
                continue
            if not isinstance(statement, ast.Pass):
                names |= reads_of(statement)
                content = True
        return names, content

    needed: set[str] = set()
    while (found := collect(backward, needed)[0]) != needed:
        needed = found
    return needed


def _statement_ids(statements: list[ast.stmt]) -> set[int]:
    """The ids of ``statements`` and of every statement nested in them (in the lists of
    statements compound statements hold; expressions hold none)."""
    found: set[int] = set()
    stack = list(statements)
    while stack:
        statement = stack.pop()
        found.add(id(statement))
        for field in statement._fields:
            value = getattr(statement, field, None)
            if type(value) is list:
                stack.extend(v for v in value if isinstance(v, ast.stmt))
    return found


def _same_place(new: _Node, old: ast.AST) -> _Node:
    ast.copy_location(new, old)
    if get_anno(old, "line") is not None:
        set_anno(new, "line", get_anno(old, "line"))
    return new


def _drop_empty(statements: list[ast.stmt]) -> list[ast.stmt]:
    """Backward ``if``/``for`` statements whose bodies do nothing are dropped."""
    result = []
    for statement in statements:
        if isinstance(statement, (ast.If, ast.For)):
            statement.body = [s for s in _drop_empty(statement.body) if not isinstance(s, ast.Pass)]
            statement.orelse = [s for s in _drop_empty(statement.orelse) if not isinstance(s, ast.Pass)]
            if not statement.body and not statement.orelse:
                continue
            if not statement.body:
                statement.body = [ast.Pass()]
        result.append(statement)
    return result


def _remove(statements: list[ast.stmt], dropped: set[int]) -> list[ast.stmt]:
    result = []
    for statement in statements:
        if id(statement) in dropped:
            continue
        for field in ("body", "orelse"):
            if isinstance(getattr(statement, field, None), list) and field in statement._fields:
                setattr(statement, field, _remove(getattr(statement, field), dropped))
        result.append(statement)
    return result


def _rename_target(loop: ast.For, old: str, new: str) -> None:
    for node in walk_code(loop.target):
        if isinstance(node, ast.Name) and node.id == old:
            node.id = new


def _bound_before_compounds(variable: str, forward: list[ast.stmt]) -> bool:
    """Whether a top-level statement binds ``variable`` before any compound statement."""
    for statement in forward:
        if isinstance(statement, COMPOUND):
            return False
        if isinstance(statement, ast.Assign) and variable in targets(statement):
            return True
    return False


def _markers_outside_loops(statements: list[ast.stmt]) -> list[ast.stmt]:
    """The tape markers among ``statements`` and in their branches, not inside loops."""
    found = []
    for statement in statements:
        if get_anno(statement, "marker") is not None:
            found.append(statement)
        elif isinstance(statement, ast.If):
            found += _markers_outside_loops(statement.body + statement.orelse)
    return found


def _value_types(body: list[ast.stmt], parameters: list[str]) -> dict[str, str]:
    """For typed code: the type of value each variable certainly holds, "bool" or "int",
    where every assignment to it gives one (a comparison, ``not``, a loop variable of
    ``range``, integer arithmetic); the rest are left out (floats, or unknown)."""
    definitions: dict[str, list[ast.expr | None]] = {}
    for statement in statements_of(body):
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            definitions.setdefault(statement.targets[0].id, []).append(statement.value)
        elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            name = statement.target.id
            definitions.setdefault(name, []).append(
                ast.BinOp(ast.Name(name, ast.Load()), statement.op, statement.value))
        elif isinstance(statement, ast.For) and isinstance(statement.target, ast.Name) and \
                isinstance(statement.iter, ast.Call) and \
                ast.unparse(statement.iter.func).endswith("range"):
            definitions.setdefault(statement.target.id, []).append(ast.Constant(0))
        else:
            for name in targets(statement) if isinstance(statement, (ast.Assign, ast.For)) \
                    else ():
                definitions.setdefault(name, []).append(None)

    def type_of(node: ast.expr, types: dict[str, str]) -> str | None:
        if isinstance(node, ast.Constant) and type(node.value) in (bool, int):
            return type(node.value).__name__
        if isinstance(node, ast.Name):
            return types.get(node.id)
        if isinstance(node, (ast.Compare, ast.BoolOp)) or (
                isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
            if isinstance(node, ast.BoolOp):  # ``a or b`` is a or b: bools only
                return "bool" if all(type_of(v, types) == "bool" for v in node.values) \
                    else None
            return "bool"
        if isinstance(node, ast.BinOp) and isinstance(
                node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)):
            if type_of(node.left, types) == type_of(node.right, types) == "int":
                return "int"
        return None

    types = {name: "int" for name in definitions if name not in parameters}
    types.update({name: "bool" for name in definitions if name not in parameters})
    changed = True
    while changed:  # the greatest fixed point, each variable demoted until it holds
        changed = False
        for name in list(types):
            found = {type_of(v, types) if v is not None else None for v in definitions[name]}
            now = "bool" if found == {"bool"} else "int" if found <= {"bool", "int"} else None
            if now != types[name]:
                if now is None:
                    del types[name]
                else:
                    types[name] = now
                changed = True
    return types


# --------------------------------------------------------------------------------------
# The returned gradients
# --------------------------------------------------------------------------------------

# NumPy functions and runtime helpers whose result is always a new array.
_FRESH = {"numpy.full_like", "numpy.zeros_like", "numpy.outer", "numpy.dot", "numpy.einsum",
          "numpy.cross", "numpy.tensordot", "numpy.linalg.solve", "numpy.where",
          "numpy.sum", "numpy.cumsum", "numpy.sign", "numpy.cos", "numpy.sin", "numpy.exp"}
_FRESH_HELPERS = {"scatter", "zero_item", "matmul_vjp", "diagonal_vjp"}


def finish(function: Function) -> Function:
    """Each ``__gradient__(b_x, x)`` the reverse pass returned, in its final form. For an
    array parameter, ``gradient_like(b_x, x, copy)``: an array of ``x``'s shape and dtype
    (an adjoint may still be the ``0.0`` it was initialised with), of its own (``copy``
    unless ``b_x`` is certainly a new array: it may be the caller's array or a global,
    ``np.dot(x, W)`` with respect to ``x`` is ``W``). For a number, a float; where the
    code may hold NumPy values, ``number_like(b_s, s)``: a NumPy scalar of ``s``'s dtype
    for a NumPy float32 (or narrower) ``s``, else a float."""
    body = function.body
    returned = body[-1] if body and isinstance(body[-1], ast.Return) else None
    if returned is None:
        return function
    markers = [n for n in ast.walk(returned) if isinstance(n, ast.Call)
               and get_anno(n, "gradient") is not None]
    if not markers:
        return function
    kinds = function.kinds
    args = function.args
    facts = Facts(body, [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs])
    definitions = {}
    for statement in body:
        if isinstance(statement, ast.Assign):
            for name in targets(statement):
                definitions[name] = statement.value
    prelude: list[ast.stmt] = []
    seen: set[str] = set()
    replacements: dict[int, ast.expr] = {}  # id of a marker -> what replaces it
    from .adjoints import _may_hold_numpy
    numpy_values = _may_hold_numpy(function)  # a number may be a NumPy scalar or 0-d array
    floats = set() if numpy_values else _float_variables(body, function)
    entries: dict[str, ast.expr] = {}

    def entry_of(parameter: str) -> ast.expr:
        """The parameter's own value (for its shape and dtype): its name, or a copy made
        on entry when the body assigns it."""
        if parameter not in entries:
            like: ast.expr = ast.Name(parameter, ast.Load())
            if facts.definitions(parameter) > 1:
                entry = function.namer.fresh(parameter + "_entry")
                function.synthetic.add(entry)
                prelude.append(ast.Assign([ast.Name(entry, ast.Store())], like))
                like = ast.Name(entry, ast.Load())
            entries[parameter] = like
        return copy_tree(entries[parameter])

    def helper(name: str) -> ast.Name:  # array_rules imports NumPy: only where it is used
        from .array_rules import helper_name
        return ast.Name(helper_name(function, name), ast.Load())

    for marker in markers:
        gradient, parameter = marker.args[0], get_anno(marker, "gradient")
        kind = kinds.get(parameter)
        if kind is not None and kind.is_array:
            like = entry_of(parameter)
            fresh = isinstance(gradient, ast.Name) and gradient.id not in seen and \
                facts.single_valued(gradient.id) and _allocates(definitions.get(gradient.id),
                                                                function)
            if isinstance(gradient, ast.Name):
                seen.add(gradient.id)
            replacements[id(marker)] = ast.Call(helper("gradient_like"), [
                gradient, like, ast.Constant(not fresh)], [])
        elif numpy_values:
            # a number in code that may hold NumPy values: the parameter may be a NumPy
            # float32, whose gradient is one too (a Python float's stays a Python float)
            replacements[id(marker)] = ast.Call(helper("number_like"),
                                                [gradient, entry_of(parameter)], [])
        elif isinstance(gradient, ast.Constant) or _is_number_node(gradient):
            replacements[id(marker)] = ast.Constant(float(cast(float, _number(gradient))))
        elif numpy_values or not _certainly_float(gradient, floats, function):
            # a number computed with NumPy may be a NumPy scalar or a 0-d array; one that
            # simplification left as a partial alone may be an int (x * n: n)
            replacements[id(marker)] = ast.Call(runtime_name("float"), [gradient], [])
        else:
            replacements[id(marker)] = gradient

    class Replace(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            if id(node) in replacements:
                return replacements[id(node)]
            return self.generic_visit(node)
    new_return = Replace().visit(returned)
    return function.replace(body=prelude + body[:-1] + [new_return])


# math's functions that may return an int or a bool; every other one returns a float
_NOT_FLOAT_MATH = {"floor", "ceil", "trunc", "factorial", "gcd", "lcm", "isqrt", "comb", "perm",
                   "prod", "isclose", "isfinite", "isinf", "isnan"}


def _float_variables(body: list[ast.stmt], function: Function) -> set[str]:
    """The variables that certainly hold a float wherever they are bound: the greatest
    fixed point of "every assignment to it gives a float, given the others" (sound by
    induction over the run: each value comes from an assignment). Parameters are not among
    them: the caller may pass an int."""
    definitions: dict[str, list[ast.expr | None]] = {}
    for statement in statements_of(body):
        if isinstance(statement, ast.Assign):
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                definitions.setdefault(target.id, []).append(statement.value)
            else:  # tuple unpacking: not followed
                for name in targets(statement):
                    definitions.setdefault(name, []).append(None)
        elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            # x += e is a float when x was one (a float plus a number) or e is
            name = statement.target.id
            definitions.setdefault(name, []).append(
                ast.BinOp(ast.Name(name, ast.Load()), statement.op, statement.value))
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            for name in targets(statement):
                definitions.setdefault(name, []).append(None)
    floats = set(definitions)
    # A worklist: a variable is asked again only when one its assignments read stops being
    # a float (sweeps over them all until none changed were quadratic in a chain of
    # assignments in the wrong order). The greatest fixed point is the same.
    readers: dict[str, list[str]] = {}
    for name, values in definitions.items():
        for value in values:
            for node in walk_code(value) if value is not None else ():
                if isinstance(node, ast.Name):
                    readers.setdefault(node.id, []).append(name)
    pending = list(definitions)
    while pending:
        name = pending.pop()
        if name in floats and not all(v is not None and _certainly_float(v, floats, function)
                                      for v in definitions[name]):
            floats.discard(name)
            pending.extend(readers.get(name, ()))
    return floats


def _certainly_float(node: ast.expr, floats: set[str], function: Function) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, float)
    if isinstance(node, ast.Name):
        return node.id in floats
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _certainly_float(node.operand, floats, function)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Div):
            return True  # true division of numbers gives a float
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Mod, ast.FloorDiv, ast.Pow)):
            return _certainly_float(node.left, floats, function) or \
                _certainly_float(node.right, floats, function)
        return False
    if isinstance(node, ast.IfExp):
        return _certainly_float(node.body, floats, function) and \
            _certainly_float(node.orelse, floats, function)
    if isinstance(node, ast.Call) and not node.keywords:
        if isinstance(node.func, ast.Attribute) and node.func.attr not in _NOT_FLOAT_MATH:
            import math
            try:
                callee = function.parsed.resolve(node.func)
            except Exception:
                return False
            return getattr(math, node.func.attr, None) is callee and callable(callee)
    return False


def _is_number_node(node: ast.expr) -> bool:
    from .expr import wrap
    return isinstance(wrap(node), (int, float))


def _number(node: ast.expr) -> Value:
    from .expr import wrap
    return wrap(node)


def _allocates(value: ast.expr | None, function: Function) -> bool:
    """Whether evaluating ``value`` certainly makes a new array (or a number)."""
    if isinstance(value, (ast.BinOp, ast.UnaryOp)):
        return True
    if isinstance(value, ast.Call):
        name = ast.unparse(value.func)
        origin = function.parsed.origins.get(name) if isinstance(value.func, ast.Name) else None
        if origin is not None and origin[0] == "helper":
            return origin[1] in _FRESH_HELPERS
        return name in _FRESH
    return False
