"""Optimisation pass: copy and constant propagation, in every block.

A synthetic variable ``t`` (a temporary or an adjoint) assigned a name or a number
(``t = s``, ``t = 0.0``) is *known* until ``t`` or ``s`` is assigned again; a read of ``t``
while it is known reads ``s`` (or the number) instead. Knowledge flows forward through a
block and into a nested block only when that block assigns neither ``t`` nor ``s``;
what a nested block learns does not leave it (a branch may not run). This is the
classic available-copies analysis, so the rewrite is exact: the read sees the same value.
The copy itself is left for ``dead_code`` to remove once nothing reads it.

An accumulation into a known number (``b = 0.0`` then ``b += e``) becomes an assignment
(``b = 0.0 + e``, which ``simplify`` folds to ``b = e``), and a self-copy ``t = t`` of a
synthetic variable goes.

A loop's body also knows the numbers that hold at the top of every pass (``carried``):
held before the loop and again at the end of its body, the one way back without
``continue`` (an invariant, proved by induction over the passes). The backward sweep
resets an adjoint to ``0.0`` after reading it, so a loop's first accumulation into it is
an assignment, and the resets, read by nothing then, go with ``dead_code``.

>>> import ast
>>> from srcdiff.ir import Function, Namer
>>> body = ast.parse('''
... b_t = b_y
... b_y = 0.0
... b_y += b_t * 0.5
... for i in r:
...     u = b_t
...     b_t = u * 2
... b_u = 0.0
... for i in r:
...     b_u += b_t * i
...     b_y += b_u
...     b_u = 0.0
... return b_y
... ''').body
>>> function = Function("f", ast.parse("def f(): pass").body[0].args, body, None, Namer(),
...                     synthetic={"b_t", "b_y", "u", "b_u"})
>>> print(propagate(function).source())
def f():
    b_t = b_y
    b_y = 0.0
    b_y = 0.0 + b_t * 0.5
    for i in r:
        u = b_t
        b_t = b_t * 2
    b_u = 0.0
    for i in r:
        b_u = 0.0 + b_t * i
        b_y += b_u
        b_u = 0.0
    return b_y
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable
from typing import Any, cast

from ..dataflow import COMPOUND, NameCache, statements_of, targets
from ..expr import wrap
from ..ir import Function, copy_tree, set_anno


def propagate(function: Function, cache: NameCache | None = None) -> Function:
    """``cache``: the names of the statements, where the caller keeps them (``optimize``)."""
    propagation = _Propagation(function.synthetic, cache or NameCache())
    body = propagation.block(function.body, None)
    return function.replace(body=body) if propagation.changed else function


def _is_number(node: ast.expr) -> bool:
    return isinstance(wrap(node), (int, float))


_LOOPS = (ast.For, ast.While)
_SIMPLE_TARGETS = (ast.AugAssign, ast.AnnAssign, ast.Try)  # ``targets`` answers for them


def _same_number(a: object, b: object) -> bool:
    """The same number, down to its type and the sign of a zero."""
    return type(a) is type(b) and repr(a) == repr(b)


def _numbers_at_end(body: list[ast.stmt], numbers: dict[str, object],
                    synthetic: set[str], cache: NameCache) -> dict[str, object]:
    """The numbers synthetic variables certainly hold at the end of ``body`` when they
    hold ``numbers`` at its start: forgotten when anything may assign them (a nested
    block, a name bound inside an expression), learnt from ``t = number``; ``del``
    forgets everything."""
    numbers = dict(numbers)
    for statement in body:
        kind = type(statement)
        if kind is ast.Assign and len(cast(ast.Assign, statement).targets) == 1 \
                and type(cast(ast.Assign, statement).targets[0]) is ast.Name:
            # (normalize left no ``:=`` in the value)
            assign = cast(ast.Assign, statement)
            target = cast(ast.Name, assign.targets[0]).id
            if target in synthetic and _is_number(assign.value):
                numbers[target] = wrap(assign.value)
            else:
                numbers.pop(target, None)
            continue
        if kind is ast.Delete:
            numbers.clear()
            continue
        written = targets(statement) if kind in _SIMPLE_TARGETS else \
            cache.assigned(statement) if isinstance(statement, COMPOUND) else cache(statement)[1]
        for name in written:
            numbers.pop(name, None)
    return numbers


class _Propagation:
    """State: ``changed``, whether any statement was rewritten."""

    def __init__(self, synthetic: set[str], cache: NameCache) -> None:
        self.synthetic = synthetic
        self.changed = False
        self.names = cache

    def block(self, statements: list[ast.stmt], inherited: _Known | None) -> list[ast.stmt]:
        known = _Known(inherited)
        result = []
        for statement in statements:
            if isinstance(statement, COMPOUND):
                written = self.names.assigned(statement)
                inside = known.without(written)
                statement = self.compound(statement, known, inside)
                known.forget(written)
                result.append(statement)
                continue
            statement = self.substitute(statement, known)
            statement = self.accumulation(statement, known)
            if _self_copy(statement) and targets(statement)[0] in self.synthetic:
                self.changed = True
                continue
            known.forget(targets(statement))
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], ast.Name):
                target, value = statement.targets[0].id, statement.value
                if target in self.synthetic and (
                        (isinstance(value, ast.Name) and value.id != target) or _is_number(value)):
                    known.learn(target, value)
            result.append(statement)
        return result

    def compound(self, statement: ast.If | ast.For | ast.While, before: _Known,
                 inside: _Known) -> ast.stmt:
        """A compound statement: its header reads what is known before it (a ``while``
        test, evaluated again after each pass, only what the loop cannot change)."""
        new: Any = copy.copy(statement)
        if isinstance(statement, ast.If):
            new.test = self.expression(statement.test, before)
        elif isinstance(statement, ast.For):
            new.iter = self.expression(statement.iter, before)
        else:
            new.test = self.expression(statement.test, inside)
        carried = self.carried(statement, before, inside.excluded) \
            if isinstance(statement, _LOOPS) else {}
        if carried:  # numbers that hold at the top of every pass
            inside = _Known(before, inside.excluded)
            for name, value in carried.items():
                inside.learn(name, value)
        new.body = self.block(statement.body, inside)
        new.orelse = self.block(statement.orelse, inside)
        if all(a is b for a, b in zip(new.body, statement.body)) and \
                all(a is b for a, b in zip(new.orelse, statement.orelse)) and \
                len(new.body) == len(statement.body) and \
                len(new.orelse) == len(statement.orelse) and \
                getattr(new, "test", None) is getattr(statement, "test", None) and \
                getattr(new, "iter", None) is getattr(statement, "iter", None):
            return statement
        return cast(ast.stmt, new)

    def carried(self, loop: ast.For | ast.While, before: _Known,
                written: frozenset[str] | set[str]) -> dict[str, ast.expr]:
        """The numbers a loop's synthetic variables hold at the top of every pass: each
        holds it before the loop, and again at the end of the body (the only way back to
        the top, without ``continue``), given that they all hold it at the top. The
        greatest such set, by dropping the names the body's end contradicts until none
        is (an invariant by induction over the passes; the adjoints the backward sweep
        resets to ``0.0`` after reading them, so that ``b += e`` at the top of the next
        pass is ``b = e``). ``written``: what the loop may assign."""
        if not before:
            return {}
        # (a for loop's target is assigned at the top of each pass)
        header = set(self.names(loop.target)[1]) if isinstance(loop, ast.For) else set()
        candidates = {}
        for name in written:
            if name in self.synthetic and name not in header:
                value = before.get(name)
                if value is not None and _is_number(value):
                    candidates[name] = value
        if not candidates or any(isinstance(s, ast.Continue) for s in statements_of(loop.body)):
            return {}
        while candidates:
            end = _numbers_at_end(loop.body, {n: wrap(v) for n, v in candidates.items()},
                                  self.synthetic, self.names)
            kept = {n: v for n, v in candidates.items() if _same_number(end.get(n), wrap(v))}
            if len(kept) == len(candidates):
                return candidates
            candidates = kept
        return {}

    def expression(self, node: ast.expr, known: _Known) -> ast.expr:
        if not known or not any(n in known for n in self.names(node)[0]):
            return node
        self.changed = True
        return cast(ast.expr, _Substitute(known).visit(copy_tree(node)))

    def substitute(self, statement: ast.stmt, known: _Known) -> ast.stmt:
        """``statement`` reading the known values (its targets untouched); a ``try`` or
        a ``raise``, run as written, as it is."""
        if not known or isinstance(statement, (ast.Try, ast.Raise)):
            return statement
        # the names it reads (an augmented assignment's target is substituted nowhere)
        read = self.names(statement.value)[0] if type(statement) is ast.AugAssign \
            else self.names(statement)[0]
        if not any(n in known for n in read):
            return statement
        self.changed = True
        new = cast(ast.stmt, _Substitute(known).visit(copy_tree(statement)))
        ast.fix_missing_locations(new)
        set_anno(new, "substituted", True)  # for simplify to look at again
        return new

    def accumulation(self, statement: ast.stmt, known: _Known) -> ast.stmt:
        """``b += e`` where ``b`` holds a known number: ``b = number + e``."""
        if not (isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name)
                and statement.target.id in known and _is_number(known[statement.target.id])
                and isinstance(statement.op, (ast.Add, ast.Sub, ast.Mult))):
            return statement
        self.changed = True
        target = statement.target.id
        value = ast.BinOp(copy_tree(known[target]), statement.op, statement.value)
        new = ast.copy_location(ast.Assign([ast.Name(target, ast.Store())], value), statement)
        ast.fix_missing_locations(new)
        for key in ("grad_of",):
            from ..ir import get_anno
            if get_anno(statement, key) is not None:
                set_anno(new, key, get_anno(statement, key))
        set_anno(new, "substituted", True)
        return new


class _Substitute(ast.NodeTransformer):
    def __init__(self, known: _Known) -> None:
        self.known = known

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if not isinstance(node.ctx, ast.Store) and node.id in self.known:
            return ast.copy_location(copy_tree(self.known[node.id]), node)
        return node


class _Known:
    """The available copies at a point: ``values`` maps a synthetic name to the Name or
    number it holds; ``copies`` maps a source name to the names holding it (so that
    assigning the source forgets them in time proportional to their number).

    A nested block's starts from the enclosing block's (``parent``), without what the
    compound statement assigns (``excluded``: copies to and of those names), read from
    it when asked: the enclosing block does not change while the nested one is worked
    on. Copying them all per compound statement was quadratic in a body of many
    branches. ``dropped`` and ``dropped_sources``: names this block assigned, whose
    inherited copies (to them, of them) it no longer knows."""

    def __init__(self, parent: "_Known | None" = None,
                 excluded: frozenset[str] | set[str] = frozenset()) -> None:
        self.parent = parent
        self.excluded = excluded
        self.values: dict[str, ast.expr] = {}
        self.copies: dict[str, set[str]] = {}
        self.dropped: set[str] = set()
        self.dropped_sources: set[str] = set()

    def get(self, name: str) -> ast.expr | None:
        value = self.values.get(name)
        if value is not None or self.parent is None or name in self.dropped:
            return value
        value = self.parent.get(name)
        if value is None or name in self.excluded:
            return None
        if isinstance(value, ast.Name) and (value.id in self.excluded
                                            or value.id in self.dropped_sources):
            return None
        return value

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __getitem__(self, name: str) -> ast.expr:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __bool__(self) -> bool:
        """False when nothing is known here; True may still find nothing (inherited
        copies all assigned): a shortcut for the questions asked of it."""
        return bool(self.values) or (self.parent is not None and bool(self.parent))

    def learn(self, target: str, value: ast.expr) -> None:
        self.values[target] = value
        if isinstance(value, ast.Name):
            self.copies.setdefault(value.id, set()).add(target)

    def forget(self, names: Iterable[str]) -> None:
        """What assigning ``names`` invalidates: their own values, and copies of them."""
        for name in names:
            if self.parent is not None:
                self.dropped.add(name)
                self.dropped_sources.add(name)
            value = self.values.pop(name, None)
            if isinstance(value, ast.Name):
                self.copies.get(value.id, set()).discard(name)
            for target in self.copies.pop(name, ()):
                self.values.pop(target, None)

    def without(self, names: set[str]) -> "_Known":
        """The values still valid inside a block that assigns ``names``."""
        return _Known(self, frozenset(names))


def _self_copy(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
        and isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, ast.Name) \
        and statement.value.id == statement.targets[0].id
