"""Stage 4, lower: core form to three-address form.

Contract: takes a normalized ``ir.Function`` and returns one whose every assignment
applies *one* primitive (an operator, a call, a comparison) to atoms (names and numeric
literals), or copies an atom. Nested expressions get temporaries named after their
operation (``mul``, ``sin``...). Straight-line code is put in single-assignment form: a
variable assigned twice gets a fresh name the second time (``x_1``), so the backward
sweep can read every value it needs without a tape; inside loops and branches, a
statement never reads its own target (``y = f(y)`` computes into a temporary first).
The user's own names survive.
Each ``Call`` is annotated with the object it calls (``callee``) and every statement
with the source line it came from (``line``).

>>> import math
>>> def h(x):
...     x = x * 2
...     return math.log(x ** 2) + 1
>>> from srcdiff.parse import parse
>>> from srcdiff.normalize import normalize
>>> print(lower(normalize(parse(h))).source())
def h(x):
    x_1 = x * 2
    power = x_1 ** 2
    log = math.log(power)
    h = log + 1
    return h
"""

from __future__ import annotations

import ast
from typing import TypeVar, cast

from .ir import Function, copy_tree, get_anno, name_id, set_anno, walk

_Opaque = TypeVar("_Opaque", ast.Try, ast.Raise)  # statements run as written

_OPERATION_NAMES: dict[type, str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "power",
    ast.FloorDiv: "quot", ast.Mod: "rem", ast.USub: "neg", ast.UAdd: "pos", ast.MatMult: "matmul",
}


def lower(function: Function) -> Function:
    return Lowering(function).run()


def _updates(statement: ast.Assign) -> None:
    """Mark ``new = a op value``, standing for ``a op= value``, and ``new = set_item(a,
    index, value)``, standing for ``a[index] = value``, with the name of ``a`` and the
    runtime check analyse adds when ``a`` may be an array (``in_place``, ``writable``):
    the changes are made on new arrays, and must raise where NumPy's would."""
    value = statement.value
    if isinstance(value, ast.BinOp) and isinstance(value.left, ast.Name):
        set_anno(statement, "updates", ("in_place", value.left.id))
    elif isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Name):
        set_anno(statement, "updates", ("writable", value.args[0].id))  # set_item(a, i, v)


def is_atom(node: ast.expr) -> bool:
    """A name, a numeric literal (``-2`` included) or a module attribute (``math.pi``)."""
    if isinstance(node, (ast.Name, ast.Constant, ast.Attribute)):
        return True
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
        and isinstance(node.operand, ast.Constant)


class Lowering:
    """State: ``env`` maps each user variable to the name holding its current value;
    ``blocks`` is the stack of statement lists being filled (innermost last); ``depth``
    counts the enclosing compound statements; ``line`` is the source line of the
    statement being lowered."""

    def __init__(self, function: Function) -> None:
        self.function = function
        self.namer = function.namer
        self.parsed = function.parsed
        self.locals = function.parsed.local_names()
        args = function.args
        self.env = {a.arg: a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        self.blocks: list[list[ast.stmt]] = []
        self.depth = 0
        self.line, self.col = function.parsed.firstlineno, 0
        self.where = function.parsed
        self.output: ast.expr | None = None  # what the function returns, once lowered

    def run(self) -> Function:
        body = self.block(self.function.body, nested=False)
        return self.function.replace(body=body, output=self.output)

    def block(self, statements: list[ast.stmt], nested: bool = True) -> list[ast.stmt]:
        self.blocks.append([])
        self.depth += nested
        for statement in statements:
            self.line, self.col = statement.lineno, statement.col_offset
            self.where = get_anno(statement, "where", self.parsed)
            self.statement(statement)
        self.depth -= nested
        return self.blocks.pop()

    def statement(self, statement: ast.stmt) -> None:
        if isinstance(statement, ast.Return):
            assert statement.value is not None  # the fence refuses a bare return
            if isinstance(statement.value, ast.Tuple):  # several outputs: an atom each
                self.output = ast.Tuple([self.atom(e, base=self.function.name)
                                         for e in statement.value.elts], ast.Load())
            else:
                self.output = self.atom(statement.value, base=self.function.name)
            self.emit(ast.Return(self.output))
        elif isinstance(statement, ast.Assign):
            value = self.primitive(statement.value)
            target = self.define(name_id(statement.targets[0]))
            reads = {n.id for n in walk(value) if isinstance(n, ast.Name)}
            in_place = get_anno(statement, "in_place")
            if target in reads and not (isinstance(value, ast.Name) and value.id == target):
                # y = f(y): compute into a temporary first, so that no statement reads
                # its own target (the backward sweep needs the old y and the new one)
                temporary = self.namer.fresh(_operation_name(value))
                self.function.synthetic.add(temporary)
                first = ast.Assign([ast.Name(temporary, ast.Store())], value)
                if in_place:  # the statement that changes an array (in Python)
                    set_anno(first, "in_place", True)
                    _updates(first)
                    in_place = False
                self.emit(first)
                value = ast.Name(temporary, ast.Load())
            assign = ast.Assign([ast.Name(target, ast.Store())], value)
            if in_place:
                set_anno(assign, "in_place", True)
                _updates(assign)
            self.emit(assign)
        elif isinstance(statement, ast.If):
            test = self.primitive(statement.test)
            line = self.line
            body, orelse = self.block(statement.body), self.block(statement.orelse)
            self.line = line
            self.emit(ast.If(test, body or [ast.Pass()], orelse))
        elif isinstance(statement, ast.For):
            iterable = self.iterable(statement.iter, statement.target)
            line = self.line
            self.depth += 1
            loop_target = self.target(statement.target)
            self.depth -= 1
            body = self.block(statement.body)
            self.line = line
            self.emit(ast.For(loop_target, iterable, body, []))
        elif isinstance(statement, ast.While):
            test, line = self.atom(statement.test), self.line
            body = self.block(statement.body)
            self.line = line
            self.emit(ast.While(test, body, []))
        elif isinstance(statement, ast.Break):
            self.emit(ast.Break())
        elif isinstance(statement, ast.Expr):
            call = cast(ast.Call, statement.value)  # print(...), the one call kept
            self.emit(ast.Expr(ast.Call(call.func, [self.formatted(a) if isinstance(
                a, ast.JoinedStr) else self.atom(a) for a in call.args], call.keywords)))
        elif isinstance(statement, ast.Assert):
            message = statement.msg
            self.emit(ast.Assert(self.primitive(statement.test), self.formatted(message)
                                 if isinstance(message, ast.JoinedStr) else message))
        elif isinstance(statement, ast.Try):
            self.emit(self.opaque(statement))
        elif isinstance(statement, ast.Raise):
            self.emit(self.opaque(statement))
        elif isinstance(statement, ast.Pass):
            pass
        else:
            raise AssertionError(f"normalize let {type(statement).__name__} through")

    def opaque(self, statement: _Opaque) -> _Opaque:
        """A ``try`` (or ``raise``) statement as written, its names renamed as the statements around it
        are (a name it assigns keeps one name throughout it, as in a branch), annotated
        with the names it reads (``reads``), may assign (``writes``), assigns on every
        path that leaves it normally (``bound``), and the user's name of each (``users``).
        It is one statement for every later pass: nothing moves into it or across it."""
        statement = copy_tree(statement)
        reads: set[str] = set()
        writes: set[str] = set()
        users: dict[str, str] = {}
        self.depth += 1

        def rename(variable: str, store: bool) -> str:
            new = self.define(variable) if store else self.env.get(variable, variable)
            (writes if store else reads).add(new)
            users.setdefault(new, variable)
            return new

        def visit(node: ast.AST, own: frozenset[str]) -> None:
            if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                # a comprehension's variables are its own (its own scope)
                own = own | {n.id for g in node.generators for n in walk(g.target)
                             if isinstance(n, ast.Name)}
            if isinstance(node, ast.Name) and node.id not in own:
                node.id = rename(node.id, not isinstance(node.ctx, ast.Load))
            elif isinstance(node, ast.ExceptHandler) and node.name:
                node.name = rename(node.name, True)
            elif isinstance(node, ast.alias):
                bound = node.asname or node.name  # the fence lets no `import a.b` in
                new = rename(bound, True)
                node.asname = None if new == node.name else new
            for child in ast.iter_child_nodes(node):
                visit(child, own)

        visit(statement, frozenset())
        self.depth -= 1
        set_anno(statement, "reads", reads)
        set_anno(statement, "writes", writes)
        set_anno(statement, "bound", _assigned_on_every_path([statement]) or set())
        set_anno(statement, "users", users)
        return statement

    def target(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Tuple):
            return ast.Tuple([self.target(e) for e in node.elts], ast.Store())
        return ast.Name(self.define(name_id(node)), ast.Store())

    def emit(self, statement: ast.stmt) -> None:
        statement.lineno, statement.col_offset = self.line, self.col
        set_anno(statement, "line", self.line)
        set_anno(statement, "where", self.where)
        self.blocks[-1].append(statement)

    def define(self, variable: str) -> str:
        """The name a new value of ``variable`` is stored under: a fresh one for a
        top-level reassignment (single assignment), the current one inside a compound
        statement (the backward sweep restores overwritten values from the tape)."""
        if variable in self.env:
            if self.depth:
                return self.env[variable]
            name = self.namer.fresh(variable)
            if variable in self.function.synthetic:
                self.function.synthetic.add(name)
        else:
            name = variable
            self.namer.taken.add(name)
        self.env[variable] = name
        return name

    def formatted(self, node: ast.JoinedStr) -> ast.JoinedStr:
        """An f-string (printed, or an assertion's message) whose values are atoms."""
        parts = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                spec = part.format_spec
                part = ast.FormattedValue(
                    self.atom(part.value), part.conversion,
                    self.formatted(cast(ast.JoinedStr, spec)) if spec is not None else None)
            parts.append(part)
        return ast.JoinedStr(parts)

    def atom(self, node: ast.expr, base: str | None = None) -> ast.expr:
        """``node`` as an atom, emitting a temporary for anything compound."""
        if isinstance(node, ast.Name):
            return ast.Name(self.env.get(node.id, node.id), ast.Load())
        if is_atom(node):
            return node
        value = self.primitive(node)
        temporary = self.namer.fresh(base or _operation_name(node))
        self.function.synthetic.add(temporary)
        self.emit(ast.Assign([ast.Name(temporary, ast.Store())], value))
        return ast.Name(temporary, ast.Load())

    def primitive(self, node: ast.expr) -> ast.expr:
        """``node`` as one primitive applied to atoms."""
        if is_atom(node):
            return self.atom(node)
        if isinstance(node, ast.BinOp):
            return ast.BinOp(self.atom(node.left), node.op, self.atom(node.right))
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(node.op, self.atom(node.operand))
        if isinstance(node, ast.Compare):
            if len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)) and \
                    isinstance(node.comparators[0], (ast.Tuple, ast.List)):
                # i in (0, n): the tuple stays written out, its items atoms (a tuple in a
                # temporary would be taken for the array NumPy makes of it)
                written = node.comparators[0]
                return ast.Compare(self.atom(node.left), node.ops, [type(written)(
                    [self.atom(e) for e in written.elts], ast.Load())])
            return ast.Compare(self.atom(node.left), node.ops,
                               [self.atom(c) for c in node.comparators])
        if isinstance(node, ast.Call):
            callee = get_anno(node, "callee")
            if callee is None:
                callee = self.parsed.resolve(node.func, self.locals)
            sequence = _sequence_position(callee, node)
            call = ast.Call(node.func, [self.argument(a, i == sequence)
                                        for i, a in enumerate(node.args)],
                            [ast.keyword(k.arg, self.argument(k.value, k.arg == sequence))
                             for k in node.keywords])
            set_anno(call, "callee", callee)
            set_anno(call, "recursive", get_anno(node, "recursive"))
            if hasattr(node, "lineno"):  # where the call is written, for errors about it
                ast.copy_location(call, node)
            return call
        if isinstance(node, ast.Subscript):
            return ast.Subscript(self.atom(node.value), self.index(node.slice), ast.Load())
        if isinstance(node, (ast.Tuple, ast.List)):  # a loop's iterable
            return type(node)([self.atom(e) for e in node.elts], ast.Load())
        raise AssertionError(f"the fence let {type(node).__name__} through")


    def iterable(self, node: ast.expr, target: ast.expr) -> ast.expr:
        """A loop's iterable. A value computed there (``x[1:]``, ``x * 2``,
        ``numpy.sin(x)``) gets a temporary, evaluated once before the loop as Python
        evaluates it, so that ``iterate`` can loop over it by position where it is an
        array; ``enumerate(zip(A, B))`` unpacked into ``i, (a, b)`` keeps its ``zip``
        in place, its arguments atoms (``iterate`` reads ``A`` and ``B`` by position,
        or writes the ``zip`` into a temporary of its own)."""
        if isinstance(node, (ast.Subscript, ast.BinOp, ast.UnaryOp)) and not is_atom(node):
            return self.atom(node, "iterated")
        if isinstance(node, ast.Call):
            callee = get_anno(node, "callee")
            if callee is None:
                callee = self.parsed.resolve(node.func, self.locals)
            if callee is abs or getattr(callee, "__module__", None) is not None and \
                    str(callee.__module__).partition(".")[0] == "numpy":
                return self.atom(node, "iterated")  # for v in numpy.sin(x), sum(abs(x))
            if callee is zip and not node.keywords and any(self.data(a) for a in node.args) \
                    and not all(self.data(a) for a in node.args):
                # zip([1.0, 2.0], x), zip(WEIGHTS, x): a list of numbers written out or a
                # module's, in a temporary, is data that ``iterate`` reads by position
                # beside the arrays
                call = ast.Call(node.func, [self.temporary(a) if self.data(a) else
                                            self.argument(a) for a in node.args], [])
                set_anno(call, "callee", callee)
                return call
            if callee is enumerate and node.args and isinstance(node.args[0], ast.Call) and \
                    isinstance(target, ast.Tuple) and len(target.elts) == 2 and \
                    isinstance(target.elts[1], ast.Tuple):
                inner = node.args[0]
                inner_callee = get_anno(inner, "callee") or self.parsed.resolve(
                    inner.func, self.locals)
                if inner_callee is zip and not inner.keywords:
                    zipped = ast.Call(inner.func, [self.atom(a) for a in inner.args], [])
                    set_anno(zipped, "callee", zip)
                    call = ast.Call(node.func, [zipped] + [self.atom(a) for a in node.args[1:]],
                                    [ast.keyword(k.arg, self.atom(k.value))
                                     for k in node.keywords])
                    set_anno(call, "callee", enumerate)
                    return call
        return self.primitive(node)

    def data(self, node: ast.expr) -> bool:
        """A list or tuple of numbers written out, or a module's (``WEIGHTS``)."""
        if isinstance(node, (ast.List, ast.Tuple)):
            return is_literal(node) and bool(node.elts)
        if isinstance(node, ast.Name) and node.id not in self.env and node.id not in self.locals:
            value = self.parsed.resolve(node, self.locals)
            return isinstance(value, (list, tuple)) and bool(value) and all(
                type(v) in (int, float) for v in value)
        return False

    def temporary(self, node: ast.expr) -> ast.Name:
        """``node`` in a temporary of its own (a name too)."""
        name = self.namer.fresh("iterated")
        self.function.synthetic.add(name)
        self.emit(ast.Assign([ast.Name(name, ast.Store())], node if isinstance(
            node, ast.Name) else self.primitive(node)))
        return ast.Name(name, ast.Load())

    def argument(self, node: ast.expr, sequence: bool = False) -> ast.expr:
        """A call's argument: an atom, a constant option (``axis=(0, 1)``, a string), a
        list of atoms (``numpy.stack([a, b])``) or an index (``numpy.s_[1:n]``).
        ``sequence``: the argument an array rule takes as a list of arrays
        (``numpy.concatenate``'s ``arrays``), whose elements NumPy makes arrays of one by
        one: an element written as a list or tuple that is not all constants
        (``numpy.concatenate([x, [a, b]])``) is that array, ``numpy.array([a, b])``, in
        a temporary, so that the rule of ``numpy.array`` carries its elements'
        derivatives (same values, same dtype as NumPy's own conversion)."""
        if is_literal(node):
            return node
        if isinstance(node, (ast.List, ast.Tuple)):
            if sequence:
                return type(node)([self.atom(_array_of(e)) if isinstance(e, (
                    ast.List, ast.Tuple)) and not is_literal(e) else self.argument(e)
                    for e in node.elts], ast.Load())
            return type(node)([self.argument(e) for e in node.elts], ast.Load())
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "numpy.s_":
            return ast.Subscript(node.value, self.index(node.slice), ast.Load())
        return self.atom(node)

    def index(self, node: ast.expr) -> ast.expr:
        """An index with atoms for its parts (slices keep their shape)."""
        if isinstance(node, ast.Tuple):
            return ast.Tuple([self.index(e) for e in node.elts], ast.Load())
        if isinstance(node, ast.Slice):
            return ast.Slice(*(None if b is None else self.atom(b)
                               for b in (node.lower, node.upper, node.step)))
        if isinstance(node, ast.Constant):
            return node
        return self.atom(node)


def _assigned_on_every_path(statements: list[ast.stmt]) -> set[str] | None:
    """The names ``statements`` assign on every path through them that ends normally
    (None: no path does, they always raise)."""
    found: set[str] = set()
    for statement in statements:
        if isinstance(statement, ast.Raise):
            return None
        if isinstance(statement, ast.If):
            paths = [_assigned_on_every_path(statement.body),
                     _assigned_on_every_path(statement.orelse)]
        elif isinstance(statement, ast.Try):
            paths = [_union(_assigned_on_every_path(statement.body),
                            _assigned_on_every_path(statement.orelse))]
            paths += [_assigned_on_every_path(h.body) for h in statement.handlers]
        elif isinstance(statement, ast.With):
            paths = [_union({n.id for item in statement.items for n in walk(item)
                             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)},
                            _assigned_on_every_path(statement.body))]
        elif isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            paths = [{n.id for n in walk(statement) if isinstance(n, ast.Name)
                      and isinstance(n.ctx, ast.Store)}]
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            paths = [{a.asname or a.name for a in statement.names}]
        else:
            paths = [set()]
        ends = [p for p in paths if p is not None]
        if not ends:
            return None
        found |= set.intersection(*ends)
        if isinstance(statement, ast.Try):
            final = _assigned_on_every_path(statement.finalbody)
            if final is None:
                return None
            found |= final
    return found


def _union(first: set[str] | None, second: set[str] | None) -> set[str] | None:
    return None if first is None or second is None else first | second


def is_literal(node: ast.expr) -> bool:
    """A constant written in the source: a number, ``None``, a string, or a tuple of them."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(is_literal(e) for e in node.elts)
    return False


def _sequence_position(callee: object, call: ast.Call) -> int | str | None:
    """Where ``call`` gives the parameter its array rule takes as a list of arrays
    (``numpy.concatenate``'s ``arrays``): a position, a keyword, or None (no such rule;
    ``numpy.array``, whose rule takes nested lists itself; einsum's operands, each an
    argument of its own, which ``normalize`` makes arrays of)."""
    import sys
    from .rules import RULES
    numpy = sys.modules.get("numpy")
    if numpy is None or callee is numpy.array:
        return None
    rule = RULES.lookup(callee, len(call.args))
    sequence = getattr(rule, "sequence", None)
    if rule is None or sequence is None or getattr(rule, "variadic", False):
        return None
    params = getattr(rule, "params", ())
    if any(k.arg == sequence for k in call.keywords):
        return cast(str, sequence)
    position = params.index(sequence)
    return position if position < len(call.args) else None


def _array_of(element: ast.expr) -> ast.Call:
    """``numpy.array(element)``, the array NumPy makes of a list it is given as an array."""
    import numpy
    from .expr import dotted
    call = ast.Call(dotted("numpy.array"), [element], [])
    if hasattr(element, "lineno"):
        ast.copy_location(call, element)
    set_anno(call, "callee", numpy.array)
    return call


def _operation_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        func = node.func
        return func.attr if isinstance(func, ast.Attribute) else name_id(func)
    if isinstance(node, ast.Compare):
        return "cond"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return "negation"
    if isinstance(node, ast.Subscript):
        return "item"
    return _OPERATION_NAMES.get(type(getattr(node, "op", None)), "t")
