"""Def-use facts over the structured intermediate form, computed once and queried.

Every optimisation decides from these facts, never by eye: a pass that cannot prove its
precondition from them leaves the code alone. The form is a list of statements in which
compound statements (``if``, ``for``, ``while``) nest blocks; the facts are:

* **definitions** of each name: which statements assign it, and whether one of them can
  run more than once (it sits in a loop), so a name with a single definition outside
  every loop has one value for its whole life (:meth:`Facts.single_valued`);
* **versions** inside one block: a name's version at a position counts the statements
  before it that may assign the name (a compound statement counts when anything in it
  does). Two reads in one block see the same value exactly when the name has the same
  version at both (:meth:`Block.same_version`): "which assignment's value does this read
  see" is a lookup, not a scan of the statements in between;
* **liveness**: whether a value may still be read (:class:`Liveness`), with loops
  solved to a fixed point;
* **definite assignment**: which reads may find their name unbound (:func:`maybe_unbound`).

>>> import ast
>>> body = ast.parse('''
... t = a * b
... for i in range(3):
...     s = t + i
...     t = s
... u = t
... ''').body
>>> block = Block(body)      # t's value before the loop is not its value after it
>>> block.same_version("a", 0, 2), block.same_version("t", 1, 2), block.same_version("t", 1, 1)
(True, False, True)
>>> facts = Facts(body, parameters=("a", "b"))
>>> facts.single_valued("a"), facts.single_valued("t"), facts.single_valued("u")
(True, False, True)
"""

from __future__ import annotations

import ast
import bisect
from typing import Any, Callable, Collection, Iterable, cast

from .ir import get_anno, has_anno

COMPOUND = (ast.If, ast.For, ast.While)
LOOPS = (ast.For, ast.While)


# --------------------------------------------------------------------------------------
# What one statement reads and writes
# --------------------------------------------------------------------------------------

# The fields that hold sub-nodes, per node type: walking them directly is several times
# faster than ``ast.walk`` (which asks every node for all its fields), and the passes ask
# these questions of every statement.
_CHILDREN = {
    ast.Name: (), ast.Constant: (), ast.Pass: (), ast.Break: (), ast.Continue: (),
    ast.BinOp: ("left", "right"), ast.UnaryOp: ("operand",), ast.BoolOp: ("values",),
    ast.Compare: ("left", "comparators"), ast.Call: ("func", "args", "keywords"),
    ast.keyword: ("value",), ast.Attribute: ("value",), ast.Subscript: ("value", "slice"),
    ast.Slice: ("lower", "upper", "step"), ast.Tuple: ("elts",), ast.List: ("elts",),
    ast.IfExp: ("test", "body", "orelse"), ast.Starred: ("value",),
    ast.Assign: ("targets", "value"), ast.AugAssign: ("target", "value"),
    ast.AnnAssign: ("target", "value"), ast.Expr: ("value",), ast.Return: ("value",),
    ast.Assert: ("test", "msg"), ast.Raise: ("exc", "cause"),
    ast.If: ("test", "body", "orelse"), ast.For: ("target", "iter", "body", "orelse"),
    ast.While: ("test", "body", "orelse"),
}


def names(node: ast.AST) -> tuple[list[str], list[str]]:
    """The names ``node`` reads and the names it writes, nested blocks included (an
    augmented assignment's target is both)."""
    loads: list[str] = []
    stores: list[str] = []
    stack = [node]
    children = _CHILDREN
    while stack:
        current: Any = stack.pop()  # dispatched on its exact type, which is quicker
        kind = type(current)
        if kind is ast.Name:
            (stores if type(current.ctx) is ast.Store else loads).append(current.id)
            continue
        if kind is ast.AugAssign and type(current.target) is ast.Name:
            loads.append(current.target.id)
        if kind is ast.Try or (kind is ast.Raise and has_anno(current, "reads")):
            # run as written (``lower.Lowering.opaque``): its names
            loads.extend(sorted(get_anno(current, "reads", ())))
            stores.extend(sorted(get_anno(current, "writes", ())))
            continue
        fields = children.get(kind)
        if fields is None:
            stack.extend(ast.iter_child_nodes(current))
            continue
        for field in fields:
            value = getattr(current, field)
            if value is None:
                continue
            if type(value) is list:
                stack.extend(value)
            else:
                stack.append(value)
    return loads, stores


def reads(node: ast.AST) -> list[str]:
    """The names ``node`` reads, nested blocks included."""
    return names(node)[0]


def statements_of(body: list[ast.stmt]) -> list[ast.stmt]:
    """Every statement of ``body``, nested blocks included, in program order."""
    result = []

    def visit(block: list[ast.stmt]) -> None:
        for statement in block:
            result.append(statement)
            if isinstance(statement, COMPOUND):
                visit(statement.body)
                visit(statement.orelse)
    visit(body)
    return result


def header_reads(statement: ast.stmt) -> list[str]:
    """The names a statement reads itself: all of a simple statement; the test of an
    ``if``/``while``, the iterable of a ``for``."""
    if isinstance(statement, (ast.If, ast.While)):
        return reads(statement.test)
    if isinstance(statement, ast.For):
        return reads(statement.iter)
    return reads(statement)


def targets(statement: ast.stmt) -> list[str]:
    """The names a simple statement assigns (a ``for``: its target)."""
    if type(statement) is ast.Assign:
        if len(statement.targets) == 1 and type(statement.targets[0]) is ast.Name:
            return [statement.targets[0].id]
        return [n for t in statement.targets for n in names(t)[1]]
    if type(statement) is ast.AugAssign or type(statement) is ast.AnnAssign:
        return [statement.target.id] if type(statement.target) is ast.Name else []
    if type(statement) is ast.For:
        return names(statement.target)[1]
    if type(statement) is ast.Try:  # every name it may assign (a raise: none)
        return sorted(get_anno(statement, "writes", ()))
    return []


def assigned(statement: ast.stmt) -> set[str]:
    """Every name the statement may assign, nested blocks included."""
    if not isinstance(statement, COMPOUND):
        return set(targets(statement))
    return set(names(statement)[1])


def accessed(statement: ast.stmt) -> set[str]:
    """Every name the statement reads or assigns, nested blocks included."""
    loads, stores = names(statement)
    return set(loads) | set(stores)


class NameCache:
    """``names`` of nodes (statements, tests, iterables, targets), each walked once: by
    id, with the node kept so that its id stays its own. The lists it gives are shared:
    read them, never change them.

    Valid while no node it has seen is changed in place. The analyses of one body (one
    pass) keep one; ``optimize.optimize`` keeps one across its passes and rounds
    (``shared``), whose passes build a new node for whatever they change (a statement
    they rewrite, a block holding one). Where ``CHECK`` is set (the tests set it), every
    answer a shared cache gives from memory is found again and compared: a pass that
    changed a node in place raises ``InternalError`` there."""

    CHECK = False

    def __init__(self, shared: bool = False) -> None:
        self.found: dict[int, tuple[ast.AST, list[str], list[str]]] = {}
        self.shared = shared

    def __call__(self, node: ast.AST) -> tuple[list[str], list[str]]:
        found = self.found.get(id(node))
        if found is None or found[0] is not node:
            loads, stores = names(node)
            found = self.found[id(node)] = (node, loads, stores)
        elif self.shared and NameCache.CHECK and names(node) != (found[1], found[2]):
            from .errors import InternalError
            raise InternalError(f"a node was changed in place while the optimiser's index of "
                                f"names held it: {ast.dump(node)[:200]}")
        return found[1], found[2]

    def assigned(self, statement: ast.stmt) -> set[str]:
        """``assigned(statement)``, from the cache."""
        if not isinstance(statement, COMPOUND):
            return set(targets(statement))
        return set(self(statement)[1])

    def of_body(self, body: list[ast.stmt],
                skip: Collection[int] = ()) -> tuple[set[str], set[str]]:
        """The names ``body`` reads and writes, as sets: those of ``names`` of the whole
        body, gathered from its statements and their headers (each part walked once).
        ``skip``: simple statements (by id) left out."""
        loads: set[str] = set()
        stores: set[str] = set()
        for statement in statements_of(body):
            if id(statement) in skip:
                continue
            if isinstance(statement, (ast.If, ast.While)):
                parts: list[ast.AST] = [statement.test]
            elif isinstance(statement, ast.For):
                parts = [statement.target, statement.iter]
            else:
                parts = [statement]
            for part in parts:
                read, written = self(part)
                loads.update(read)
                stores.update(written)
        return loads, stores


# --------------------------------------------------------------------------------------
# Versions inside one block
# --------------------------------------------------------------------------------------

class Block:
    """One list of statements, indexed: for each name, the sorted positions of the
    statements that may assign it (``defs``) and that may read or assign it
    (``uses``). Queries are binary searches: linear time to build, logarithmic to ask."""

    def __init__(self, statements: list[ast.stmt]) -> None:
        self.statements = statements
        self.defs: dict[str, list[int]] = {}
        self.uses: dict[str, list[int]] = {}
        for position, statement in enumerate(statements):
            loads, stores = names(statement)
            for name in set(stores):
                self.defs.setdefault(name, []).append(position)
            for name in set(loads) | set(stores):
                self.uses.setdefault(name, []).append(position)

    def version(self, name: str, position: int) -> int:
        """How many statements before ``position`` may assign ``name``."""
        return bisect.bisect_left(self.defs.get(name, ()), position)

    def same_version(self, name: str, first: int, second: int) -> bool:
        """Whether ``name`` holds the same value just before the statements at ``first``
        and ``second`` (no statement in between, ``first`` included, may assign it)."""
        low, high = min(first, second), max(first, second)
        return self.version(name, low) == self.version(name, high)

    def assigned_in(self, name: str, first: int, last: int) -> bool:
        """Whether a statement at a position in ``first..last`` may assign ``name``."""
        positions = self.defs.get(name, ())
        index = bisect.bisect_left(positions, first)
        return index < len(positions) and positions[index] <= last

    def next_use(self, name: str, after: int) -> int | None:
        """The first position after ``after`` whose statement reads or assigns ``name``."""
        positions = self.uses.get(name, ())
        index = bisect.bisect_right(positions, after)
        return positions[index] if index < len(positions) else None


# --------------------------------------------------------------------------------------
# Definitions over the whole function
# --------------------------------------------------------------------------------------

class Facts:
    """Where each name is defined, over a whole body. Parameters count as definitions
    (at entry), loop targets as definitions inside their loop."""

    def __init__(self, body: list[ast.stmt], parameters: Iterable[str] = ()) -> None:
        self.count: dict[str, int] = {name: 1 for name in parameters}
        self.repeated: set[str] = set()  # assigned by a statement that may run twice

        def visit(statements: list[ast.stmt], in_loop: bool) -> None:
            for statement in statements:
                for name in targets(statement):
                    self.count[name] = self.count.get(name, 0) + 1
                    if in_loop or isinstance(statement, LOOPS):
                        self.repeated.add(name)
                if isinstance(statement, COMPOUND):
                    inner = in_loop or isinstance(statement, LOOPS)
                    visit(statement.body, inner)
                    visit(statement.orelse, inner)
        visit(body, False)

    def single_valued(self, name: str) -> bool:
        """Whether ``name`` is assigned at most once in a call: one definition (a
        parameter counts), not in a loop. Every read that finds it bound then sees the
        one value it ever has."""
        return self.count.get(name, 0) <= 1 and name not in self.repeated

    def definitions(self, name: str) -> int:
        return self.count.get(name, 0)


# --------------------------------------------------------------------------------------
# Liveness
# --------------------------------------------------------------------------------------

class Liveness:
    r"""Backward may-analysis: a name is live after a statement when some path from there
    reads it before assigning it. Loops are solved to a fixed point.

    ``dead`` collects the assignments whose every target is dead after them. Given a
    ``removable`` predicate, the analysis finds *faint* values too: a dead assignment the
    predicate allows to remove does not make what it reads live, so a chain of dead
    assignments is found in one analysis. ``watch``: statements (by id) whose live-after
    set to keep in ``after``; a dict gives, for each, the names to ask about, and
    ``after`` keeps those of them live there (a whole live set per statement is
    quadratic in a loop body, where most names are live everywhere).

    >>> body = ast.parse("a = 1\nb = a\nfor i in r:\n    c = b\n    b = c\nreturn a").body
    >>> sorted(ast.unparse(s) for s in Liveness(body, set()).dead_statements())
    []
    >>> body = ast.parse("a = 1\nb = a\nfor i in r:\n    c = b\n    d = c\nreturn a").body
    >>> sorted(ast.unparse(s) for s in Liveness(body, set()).dead_statements())
    ['d = c']
    >>> everything = Liveness(body, set(), removable=lambda s: True)
    >>> sorted(ast.unparse(s) for s in everything.dead_statements())
    ['b = a', 'c = b', 'd = c']
    """

    def __init__(self, body: list[ast.stmt], live_at_exit: set[str],
                 watch: Collection[int] | dict[int, Collection[str]] = frozenset(),
                 removable: Callable[[ast.stmt], object] | None = None,
                 cache: NameCache | None = None) -> None:
        self.names = cache or NameCache()  # shared with other analyses of this body
        self.dead: dict[int, ast.stmt] = {}
        self.watch = watch
        self.asked = watch if isinstance(watch, dict) else None
        self.after: dict[int, set[str]] = {}
        self.removable = removable
        self.verdicts: dict[int, bool] = {}  # removable(statement), asked once each
        # What each statement writes and reads, found once: the fixed points of loops ask
        # again on every pass. By id, valid for this analysis only (passes change the
        # statements between analyses); the statement is kept, so its id stays its own.
        self.facts: dict[int, tuple[ast.AST, list[str], list[str]]] = {}
        live = _Live(live_at_exit)
        self.block(body, live, None, record=True)
        self.live_before = live.names

    def dead_statements(self) -> list[ast.stmt]:
        return list(self.dead.values())

    def block(self, statements: list[ast.stmt], live: _Live, loop_exit: set[str] | None,
              record: bool) -> None:
        """``live``, live after ``statements``, made what is live before them."""
        for statement in reversed(statements):
            self.statement(statement, live, loop_exit, record)

    def _facts(self, node: ast.AST, simple: bool) -> tuple[list[str], list[str]]:
        """What ``node`` assigns (a simple statement's ``targets``) and reads (all of it:
        a whole simple statement, a test or an iterable), asked once per analysis."""
        found = self.facts.get(id(node))
        if found is None or found[0] is not node:
            found = self.facts[id(node)] = (node, targets(cast(ast.stmt, node)) if simple
                                            else [], self.names(node)[0])
        return found[1], found[2]

    def statement(self, statement: Any, live: _Live, loop_exit: set[str] | None,
                  record: bool) -> None:
        kind = type(statement)
        if kind is ast.If:
            # live before: live before the body or before the else branch (each from
            # what is live after), and what the test reads
            mark = live.begin()
            self.block(statement.body, live, loop_exit, record)
            body_before = live.changes(mark)  # the names the body changed: were they live
            body_now = [n for n in body_before if n in live.names]
            live.undo(mark)
            self.block(statement.orelse, live, loop_exit, record)
            else_removed = [n for n, was in live.changes(mark).items()
                            if was and n not in live.names and n not in body_before]
            live.end()
            live.add_all(body_now)  # live before the body: live before the branch
            live.add_all(else_removed)  # the body left it live, the else branch did not
            live.add_all(self._facts(statement.test, False)[1])
            return
        if kind is ast.For or kind is ast.While:
            self.loop(statement, live, record)
            return
        if kind is ast.Break:
            live.replace(loop_exit or ())
            return
        if kind is ast.Return:
            live.replace(self._facts(statement, False)[1])
            return
        written, read = self._facts(statement, True)
        names = live.names
        if record and id(statement) in self.watch:
            if self.asked is None:
                self.after[id(statement)] = set(names)
            else:
                self.after[id(statement)] = {n for n in self.asked[id(statement)] if n in names}
        if written and (kind is ast.Assign or kind is ast.AugAssign) \
                and names.isdisjoint(written):
            if self.removable is None:
                if record:
                    self.dead[id(statement)] = statement
            elif self._removable(statement):
                if record:
                    self.dead[id(statement)] = statement
                return  # faint: what it reads is not needed for it
        if live.depth:
            if kind is ast.Assign:
                live.remove_all(written)
            live.add_all(read)
        else:  # no branch to undo: the set alone
            if kind is ast.Assign:
                names.difference_update(written)
            names.update(read)

    def _removable(self, statement: ast.stmt) -> bool:
        key = id(statement)
        if key not in self.verdicts:
            assert self.removable is not None  # asked only when there is a test
            self.verdicts[key] = bool(self.removable(statement))
        return self.verdicts[key]

    def loop(self, loop: ast.For | ast.While, live: _Live, record: bool) -> None:
        """At the head of a loop: exit (what is live after it) or run the body again."""
        after = set(live.names)
        target = set(self.names(loop.target)[1]) if isinstance(loop, ast.For) else set()
        test = set(self._facts(loop.test, False)[1]) if isinstance(loop, ast.While) else set()
        head = after | test
        while True:
            # Each pass records what it finds aside (recording changes nothing else): the
            # pass that finds the fixed point started from it, so its records are those
            # of the body at the fixed point, kept without a pass of their own.
            if record:
                outer = self.dead, self.after
                self.dead, self.after = {}, {}
            inner = _Live(head)
            self.block(loop.body, inner, after, record)
            body = inner.names
            if record:
                found = self.dead, self.after
                self.dead, self.after = outer
            new = after | test | (body - target)
            if new == head:
                if record:
                    self.dead.update(found[0])
                    self.after.update(found[1])
                break
            head = new
        if isinstance(loop, ast.For):
            head = head | set(self._facts(loop.iter, False)[1])
        live.replace(head)


class _Live:
    """The live names at a point of ``Liveness``: one set, changed in place as the
    analysis goes back through a block. Inside a branch (``depth``), each change is
    logged (the name, whether it was live before it), so that what the body of an
    ``if`` did can be read and undone for its else branch: a copy of the live names
    per branch was quadratic in a body of many branches."""

    __slots__ = ("names", "log", "depth")

    def __init__(self, names: Iterable[str]) -> None:
        self.names = set(names)
        self.log: list[tuple[str, bool]] = []
        self.depth = 0

    def add_all(self, names: Iterable[str]) -> None:
        if not self.depth:
            self.names.update(names)
            return
        for name in names:
            if name not in self.names:
                self.names.add(name)
                self.log.append((name, False))

    def remove_all(self, names: Iterable[str]) -> None:
        if not self.depth:
            self.names.difference_update(names)
            return
        for name in names:
            if name in self.names:
                self.names.remove(name)
                self.log.append((name, True))

    def replace(self, names: Iterable[str]) -> None:
        new = set(names)
        gone, came = self.names - new, new - self.names
        self.remove_all(gone)
        self.add_all(came)

    def begin(self) -> int:
        """A branch begins: log from here (the mark returned)."""
        self.depth += 1
        return len(self.log)

    def changes(self, mark: int) -> dict[str, bool]:
        """The names changed since ``mark``, each with whether it was live at the mark."""
        before: dict[str, bool] = {}
        for name, was in self.log[mark:]:
            before.setdefault(name, was)
        return before

    def undo(self, mark: int) -> None:
        """Back to the names live at ``mark``."""
        for name, was in reversed(self.log[mark:]):
            if was:
                self.names.add(name)
            else:
                self.names.discard(name)
        del self.log[mark:]

    def end(self) -> None:
        self.depth -= 1
        if not self.depth:
            self.log.clear()


# --------------------------------------------------------------------------------------
# Definite assignment
# --------------------------------------------------------------------------------------

def maybe_unbound(body: list[ast.stmt], parameters: Iterable[str],
                  known: Iterable[str] = (), cache: NameCache | None = None) -> dict[int, set[str]]:
    """For each statement (by id) that reads a local name which may be unbound there,
    those names. A name is *bound* on a path once assigned; ``known`` are names bound
    for sure from the start (free names, parameters). Loops may run zero times.
    ``cache``: the names of the statements, when another analysis of the same body
    (``Liveness``) found them already.

    >>> body = ast.parse("if c:\\n    y = 1\\nz = y\\nw = c").body
    >>> {ast.unparse(body[1]): names for k, names in maybe_unbound(body, ['c']).items()}
    {'z = y': {'y'}}
    """
    names_of = cache or NameCache()

    def stores(statement: ast.stmt) -> set[str]:
        """``assigned(statement)``: of a compound statement, every name stored in it,
        found from its parts (each walked once, for ``check`` too)."""
        if not isinstance(statement, COMPOUND):
            return set(targets(statement))
        found = set(names_of(statement.target)[1]) | set(names_of(statement.iter)[1]) \
            if isinstance(statement, ast.For) else set(names_of(statement.test)[1])
        for inner in statement.body + statement.orelse:
            found.update(stores(inner) if isinstance(inner, COMPOUND) else names_of(inner)[1])
        return found

    local = set()
    for statement in body:
        local |= stores(statement)
    result: dict[int, set[str]] = {}

    # The names bound for sure at the statement being visited, one set changed in place,
    # with the names added in order: a branch or a loop takes back what its body bound
    # (copies per branch and per loop were quadratic in a body of many of them).
    bound = set(parameters) | set(known)
    added: list[str] = []

    def bind(names: Iterable[str]) -> None:
        for name in names:
            if name not in bound:
                bound.add(name)
                added.append(name)

    def take_back(mark: int) -> list[str]:
        """Unbind the names bound since ``len(added)`` was ``mark``; they are returned."""
        taken = added[mark:]
        del added[mark:]
        bound.difference_update(taken)
        return taken

    def check(node: ast.stmt, statement: ast.stmt) -> None:
        if isinstance(node, (ast.If, ast.While)):  # header_reads(node)
            read = names_of(node.test)[0]
        elif isinstance(node, ast.For):
            read = names_of(node.iter)[0]
        else:
            read = names_of(node)[0]
        missing = {n for n in read if n in local and n not in bound}
        if missing:
            result.setdefault(id(statement), set()).update(missing)

    def block(statements: list[ast.stmt]) -> None:
        for statement in statements:
            visit(statement)

    def visit(statement: ast.stmt) -> None:
        check(statement, statement)
        mark = len(added)
        if isinstance(statement, ast.If):
            # bound after it: what both branches bind
            block(statement.body)
            in_body = take_back(mark)
            block(statement.orelse)
            in_else = set(take_back(mark))
            bind([name for name in in_body if name in in_else])
        elif isinstance(statement, LOOPS):
            # Names only get bound, so the first pass through the body (from the state
            # at entry) is the one where the most names may be unbound; the loop may
            # run zero times, so after it only what was bound before is bound for sure.
            bind(targets(statement))
            block(statement.body)
            take_back(mark)
        elif isinstance(statement, ast.Try):  # what it assigns on every path
            bind(sorted(get_anno(statement, "bound", ())))
        else:
            bind(targets(statement))

    block(body)
    return result
