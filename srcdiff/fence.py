"""Stage 2, fence: refuse anything outside the supported language, before any transformation.

Contract: takes a ``parse.Parsed`` and returns it unchanged, or raises a located
``SrcdiffError`` (file, line, column, the source line, a caret and a hint). It is an
allow-list: every node type must be named here to pass, so a construct nobody thought
of is refused rather than silently mis-differentiated. Calls are checked against the
rule table: a callee with no derivative rule is named, with how to register one, unless
it is a pure function of ``srcdiff.pure``'s allow-list (``numpy.sort``, ``math.lgamma``),
whose call is a constant where its arguments are (``analyse`` refuses it where one
depends on the differentiated arguments).

>>> def f(x):
...     with open("weights") as handle:
...         x = x / 2
...     return x
>>> from srcdiff.parse import parse
>>> fence(parse(f))
Traceback (most recent call last):
...
srcdiff.errors.UnsupportedSyntaxError: <doctest ...>:2:5: `with` statements are not supported
        with open("weights") as handle:
        ^

A ``try`` statement passes as a whole (``visit_Try``): it runs as written, a constant
computation; what it may not contain is refused here, what it may not read (values that
depend on the parameters) by ``analyse``.
"""

from __future__ import annotations

import ast
import inspect
import math
import sys
import types
from typing import Any, Callable, NoReturn, cast

from .errors import (LocatedError, MissingRuleError, SrcdiffNameError, UnsupportedSyntaxError,
                     located)
from .kinds import ATTRIBUTES, METHODS, TUPLE_METHODS, is_complex, kind_of_value
from .parse import UNRESOLVED, Parsed, library_function
from .pure import is_pure, refused_argument
from .rules import BINARY_OPERATORS, RULES, UNARY_OPERATORS, qualified_name

# Constructs a later version will support, and constructs srcdiff refuses for good.
NOT_YET = {
    ast.FunctionDef: "nested functions inside blocks are",
    ast.Lambda: "lambdas other than `name = lambda ...` at the top of the body are", ast.List: "lists are",
    ast.Tuple: "tuples are", ast.Dict: "dictionaries are", ast.Set: "sets are",
    ast.ListComp: "list comprehensions are", ast.SetComp: "set comprehensions are",
    ast.DictComp: "dict comprehensions are", ast.GeneratorExp: "generator expressions are",
    ast.Starred: "`*` unpacking is", ast.NamedExpr: "assignment expressions (`:=`) are",
    ast.Expr: "expression statements are",
    ast.Match: "`match` statements are", ast.JoinedStr: "f-strings are",
}
NEVER = {
    ast.With: "`with` statements are",
    ast.AsyncWith: "`async with` is", ast.AsyncFor: "`async for` is",
    ast.AsyncFunctionDef: "async functions are", ast.Await: "`await` is",
    ast.ClassDef: "classes are", ast.Yield: "generators (`yield`) are",
    ast.YieldFrom: "generators (`yield from`) are", ast.Global: "`global` declarations are",
    ast.Nonlocal: "`nonlocal` declarations are",
    ast.Import: "imports inside the function are",
    ast.ImportFrom: "imports inside the function are",
}
if hasattr(ast, "TryStar"):
    NEVER[ast.TryStar] = "`try`/`except*` statements are"

HINTS = {
    ast.Global: "pass the value as an argument and return the new one",
    ast.Nonlocal: "pass the value as an argument and return the new one",
    ast.Yield: "differentiate a function that returns a number",
    ast.Import: "import at module level",
    ast.ImportFrom: "import at module level",
}


def fence(parsed: Parsed, callee: bool = False) -> Parsed:
    """``callee``: the function is inlined into another. Any function may return a
    tuple here: a callee's is unpacked where it is called, and normalize takes a
    function's own only for vjp, jvp and jacobian."""
    Fence(parsed, callee).check()
    return parsed


class Fence(ast.NodeVisitor):
    """Walks a function and raises on the first node outside the allow-list.

    State: ``parsed`` (for positions and name resolution) and ``locals`` (the names the
    function binds, which are not looked up in its globals).
    """

    def __init__(self, parsed: Parsed, callee: bool = False) -> None:
        self.parsed = parsed
        self.callee = callee
        self.locals = parsed.local_names()
        self.local_functions: set[str] = set()

    def refuse(self, node: ast.AST, message: str, hint: str | None = None,
               cls: type[LocatedError] = UnsupportedSyntaxError) -> NoReturn:
        raise located(cls, message, node, self.parsed, hint=hint)

    def check(self) -> None:
        tree = self.parsed.tree
        if isinstance(tree, ast.AsyncFunctionDef):
            self.refuse(tree, "async functions are not supported")
        self.check_arguments(tree.args, own=not self.callee)
        body = tree.body
        if body and _is_docstring(body[0]):
            body = body[1:]
        for statement in body:  # local functions first: calls may precede nothing
            if isinstance(statement, ast.FunctionDef):
                self.local_functions.add(statement.name)
            elif isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Lambda):
                self.local_functions.update(t.id for t in statement.targets
                                            if isinstance(t, ast.Name))
        _Deleted.analyse(self, tree)
        for statement in body:
            if isinstance(statement, ast.FunctionDef):
                self.check_local_function(statement)
            elif isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Lambda):
                if not all(isinstance(t, ast.Name) for t in statement.targets):
                    self.refuse(statement, "a lambda must be bound to a name")
                self.check_arguments(statement.value.args)
                self.visit(statement.value.body)
            else:
                self.visit(statement)
        if not body or not _always_returns(body):
            self.refuse(body[-1] if body else tree,
                        f"not every path through {tree.name}() ends with `return <number>`",
                        "srcdiff differentiates functions that return one number; end "
                        "the function with a return")

    # -- the function's signature ------------------------------------------------
    def check_local_function(self, tree: ast.FunctionDef) -> None:
        if tree.decorator_list:
            self.refuse(tree.decorator_list[0], "decorators on nested functions are not "
                        "supported")
        self.check_arguments(tree.args)
        _Deleted.analyse(self, tree)
        body = [s for s in tree.body if not _is_docstring(s)]
        for statement in body:
            self.visit(statement)
        if not _always_returns(body):
            self.refuse(tree, f"not every path through {tree.name}() ends with `return`")

    def check_arguments(self, args: ast.arguments, own: bool = False) -> None:
        """``own``: the parameters of the function differentiated, whose ``*args`` is a
        tuple argument (``srcdiff.api``); of a function srcdiff inlines, ``*args`` is the
        tuple of a call's other positional arguments (``normalize``)."""
        if args.kwarg is not None:
            self.refuse(args.kwarg, "**kwargs parameters are not supported yet",
                        "name each parameter")

    # -- statements --------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Tuple) and any(isinstance(e, ast.Starred) for e in t.elts)
               for t in node.targets):
            self.starred_assignment(node)
            return
        for target in node.targets:
            self.check_target(target, allow_tuple=True, allow_item=len(node.targets) == 1)
        if any(isinstance(t, ast.Tuple) for t in node.targets) and isinstance(node.value, ast.Call):
            if len(node.targets) > 1:
                self.refuse(node, "chained assignment from a call that returns several "
                            "values is not supported")
            self.visit(node.value)  # a, b = f(x): f must return two values
            return
        if any(isinstance(t, ast.Tuple) for t in node.targets) and (
                isinstance(node.value, (ast.Name, ast.Subscript)) or (
                    isinstance(node.value, ast.Attribute) and self.is_method(node.value))):
            if len(node.targets) > 1:
                self.refuse(node, "chained assignment with tuple unpacking is not supported")
            # n, d = X.shape; a, b = pair; W, b = params[0] (normalize unpacks a structured
            # argument's item, a list's, a row of an array; else refuses)
            self.visit(node.value)
            return
        if any(isinstance(t, ast.Tuple) for t in node.targets):
            value = node.value
            if not isinstance(value, ast.Tuple) or any(
                    isinstance(t, ast.Tuple) and len(t.elts) != len(value.elts)
                    for t in node.targets):
                self.refuse(node, "tuple unpacking is supported only from a tuple of the "
                            "same length (`a, b = b, a * b`)")
            for element in value.elts:
                self.visit(element)
            return
        if isinstance(node.value, (ast.Tuple, ast.List, ast.Dict)):  # coefficients = [1.0, 2.0]
            self.sequence(node.value)
            return
        if _is_string(node.value) and all(isinstance(t, ast.Name) for t in node.targets):
            return  # mode = "fast": an option, compared or passed on
        self.visit(node.value)

    def starred_assignment(self, node: ast.Assign) -> None:
        """``a, *rest = xs``: names, one of them starred, from a list or tuple whose
        elements normalize knows (it checks their number)."""
        target = node.targets[0]
        if len(node.targets) > 1:
            self.refuse(node, "chained assignment with `*` unpacking is not supported")
        assert isinstance(target, ast.Tuple)  # visit_Assign looked
        if sum(isinstance(e, ast.Starred) for e in target.elts) > 1:
            self.refuse(target, "two starred names in one assignment")  # as Python does
        for element in target.elts:
            name = element.value if isinstance(element, ast.Starred) else element
            if not isinstance(name, ast.Name):
                self.refuse(element, "`*` unpacking is supported into names (`a, *rest = "
                            "xs`), not nested or into items")
        value = node.value
        if isinstance(value, ast.ListComp):
            self.check_comprehension(value)
        elif isinstance(value, (ast.Name, ast.Subscript, ast.Tuple, ast.List)):
            self.sequence(value)
        else:
            self.refuse(value, "`*` unpacking is supported from a list or tuple (a name, "
                        "a list written out, a comprehension)")

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.check_target(node.target, allow_item=True)
        self.check_operator(node, node.op)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.check_target(node.target)
        if node.value is None:
            self.refuse(node, "a bare annotation without a value is not supported")
        self.visit(node.value)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is None:
            self.refuse(node, "`return` without a value",
                        "srcdiff differentiates functions that return one number")
        if isinstance(node.value, ast.Tuple):
            # several values: unpacked where a callee is called; the function's own
            # outputs, which only vjp, jvp and jacobian take (normalize refuses the rest)
            for element in node.value.elts:
                self.visit(element)
            return
        self.visit(node.value)

    def visit_Pass(self, node: ast.Pass) -> None:
        pass

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:  # which reads follow is _Deleted's to check
            if not isinstance(target, ast.Name):
                self.refuse(target, "`del` of an item or attribute is not supported",
                            "make a new list or array without it")

    def visit_Break(self, node: ast.Break) -> None:
        pass

    def visit_Continue(self, node: ast.Continue) -> None:
        pass

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        for statement in node.body + node.orelse:
            self.visit(statement)

    def visit_For(self, node: ast.For) -> None:
        self.check_target(node.target, allow_tuple=True)
        self.iterable(node.iter)
        for statement in node.body + node.orelse:
            self.visit(statement)

    def sequence(self, node: ast.expr) -> None:
        """A value that may be a list or tuple written out, of such values too (an
        element of a list, a list comprehension's element, what is assigned)."""
        if isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:  # [*xs, y]: normalize spreads xs, or refuses
                self.sequence(element.value if isinstance(element, ast.Starred) else element)
        elif not _is_string(node):  # a string: an option, compared or passed on
            self.visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        """``{"w": a}``: normalize follows a dict with constant keys, or refuses it."""
        for key, value in zip(node.keys, node.values):
            if key is None:
                self.refuse(value, "`**` in a dict is not supported yet")
            self.sequence(value)

    def iterable(self, node: ast.expr) -> None:
        """What a loop or comprehension goes over: ``(a, b, c)``, and ``zip``,
        ``enumerate`` and ``reversed`` of such tuples, besides any value."""
        if isinstance(node, (ast.Tuple, ast.List)):  # for v in (a, b, c)
            self.sequence(node)
            return
        if isinstance(node, ast.Call) and any(
                self.parsed.resolve(node.func, self.locals) is f for f in (zip, enumerate, reversed)):
            enumerating = self.parsed.resolve(node.func, self.locals) is enumerate
            if node.keywords and not (enumerating and len(node.args) == 1 and [
                    k.arg for k in node.keywords] == ["start"]):
                self.refuse(node, "keyword arguments to zip, enumerate and reversed are not "
                            "supported (but enumerate's start=)")
            for keyword in node.keywords:
                self.visit(keyword.value)
            for argument in node.args:
                self.iterable(argument)
            return
        self.visit(node)

    def inlined_argument(self, node: ast.expr) -> None:
        """An argument of a function srcdiff inlines: lists and tuples are passed as they
        are, and so are strings (options: ``activation(z, kind="relu")``)."""
        if not _is_string(node):
            self.iterable(node)

    def visit_Try(self, node: ast.Try) -> None:
        """A ``try`` runs as written, in the gradient's forward sweep: a constant
        computation (``analyse`` refuses one that reads or assigns a value depending on
        the parameters). Anything may be inside but what would leave it or bind names
        beyond its assignments: a ``return``, a ``break`` or ``continue`` of a loop
        outside it, a ``yield``, ``global``/``nonlocal``, ``del``, a nested function
        or class; nor may it mention a local function, which srcdiff inlines."""
        Opaque(self, node).check()

    def visit_Raise(self, node: ast.Raise) -> None:
        """A ``raise`` runs as written, in the gradient's forward sweep, where the
        function raises: its exception (and cause) may be any expression, of any value,
        but none that binds a name or needs what srcdiff inlines (``Opaque``'s checks)."""
        Opaque(self, node).visit(node, 0)

    def visit_While(self, node: ast.While) -> None:
        self.visit(node.test)
        for statement in node.body + node.orelse:
            self.visit(statement)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        for child in (node.test, node.body, node.orelse):
            self.visit(child)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        for value in node.values:
            self.visit(value)

    def visit_Assert(self, node: ast.Assert) -> None:
        message = node.msg
        if message is not None and not (isinstance(message, ast.Constant) and isinstance(
                message.value, str)):
            # an f-string of names: computed only when the assertion fails, as in Python
            if not isinstance(message, ast.JoinedStr) or not all(
                    isinstance(part, ast.Constant)
                    or isinstance(cast(ast.FormattedValue, part).value, ast.Name)
                    for part in message.values):
                self.refuse(message, "assert messages are strings, or f-strings of names")
            self.formatted(message)
        self.visit(node.test)

    def formatted(self, node: ast.JoinedStr) -> None:
        """An f-string (printed, or an assertion's message): its values are read."""
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                self.visit(part.value)
                if part.format_spec is not None:
                    self.formatted(cast(ast.JoinedStr, part.format_spec))

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)  # (y := e): y = e, then y

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, (ast.Yield, ast.YieldFrom, ast.Await)):
            self.visit(node.value)  # refused for what it is, not as a statement
        value = node.value
        if isinstance(value, ast.Call) and _is_check(self.parsed.resolve(value.func, self.locals)):
            for argument in value.args:  # generated code's checks of in-place changes
                self.visit(argument)
            return
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                value.func.attr == "append" and isinstance(value.func.value, ast.Name) and \
                value.func.value.id in self.locals:
            # out.append(v): normalize follows lists whose length it knows, or refuses
            if len(value.args) != 1 or value.keywords:
                self.refuse(value, "list.append takes one argument")
            self.visit(value.args[0])
            return
        if isinstance(value, ast.Call) and self.is_user_function(value.func):
            self.visit(value)  # push(out, v): called for what it does; its value unused
            return
        if isinstance(value, ast.Call) and self.parsed.resolve(value.func, self.locals) is print:
            for keyword in value.keywords:
                self.print_option(keyword)
            for argument in value.args:
                if isinstance(argument, ast.JoinedStr):
                    self.formatted(argument)
                elif not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                    self.visit(argument)
            return
        self.refuse(node, "expression statements are not supported (except print(...))",
                    "assign the value to a variable")

    def is_user_function(self, func: ast.expr) -> bool:
        """Whether ``func`` names a function srcdiff inlines (one of the module's, or a
        local one)."""
        if isinstance(func, ast.Name) and func.id in self.local_functions:
            return True
        callee = self.parsed.resolve(func, self.locals)
        return isinstance(callee, types.FunctionType) and not RULES.knows(callee)

    def print_option(self, keyword: ast.keyword) -> None:
        """``sep=``, ``end=`` (strings), ``flush=`` (a bool), ``file=`` (a stream such as
        ``sys.stderr``)."""
        value = keyword.value
        if keyword.arg in ("sep", "end") and isinstance(value, ast.Constant) and isinstance(
                value.value, (str, type(None))):
            return
        if keyword.arg == "flush" and isinstance(value, ast.Constant) and isinstance(
                value.value, bool):
            return
        if keyword.arg == "file" and isinstance(value, (ast.Name, ast.Attribute)) and hasattr(
                self.parsed.resolve(value, self.locals), "write"):
            return
        self.refuse(keyword, f"print's {keyword.arg}= is supported as a constant (sep, end: "
                    "strings; flush: a bool) or a stream of the module (file=sys.stderr)")

    def check_target(self, target: ast.expr, allow_tuple: bool = False, allow_item: bool = False) -> None:
        if isinstance(target, ast.Name):
            return
        if allow_item and isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            if target.value.id not in self.locals:
                self.refuse(target, f"assignment to an item of `{target.value.id}`, which is "
                            "not a variable of the function", "copy it into a local "
                            "variable first")
            if not (isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str)):
                self.check_index(target.slice)  # d["k"] = v: a dict normalize follows, or refused
            return
        if allow_tuple and _names_in_tuples(target):
            return  # a, b = ...; (a, b), c = ...; for i, (a, b) in ...
        what = {ast.Subscript: "this assignment to an item (`a.b[i] = ...`, `a[i] = b[j] = ...`)",
                ast.Attribute: "assignment to an attribute",
                ast.Starred: "starred assignment"}.get(type(target), "this assignment target")
        self.refuse(target, f"{what} is not supported yet")

    # -- expressions -------------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp) -> None:
        from .lower import is_literal
        if isinstance(node.op, (ast.Mult, ast.Add)) and any(
                isinstance(side, (ast.List, ast.Tuple)) and not is_literal(side)
                for side in (node.left, node.right)):
            self.refuse(node, "a list or tuple of computed values repeated with `*` or joined "
                        "with `+` is not supported yet", "write its elements out ([x, x, x]), "
                        "or make an array (numpy.full(3, x), numpy.concatenate(...))")
        self.check_operator(node, node.op)
        self.visit(node.left)
        self.visit(node.right)

    def check_operator(self, node: ast.AST, op: ast.operator) -> None:
        name = type(op).__name__
        if name == "MatMult" and RULES.lookup(BINARY_OPERATORS[name], 2) is None:
            self.refuse(node, "the `@` operator needs NumPy", "import numpy in the module")
        if name not in BINARY_OPERATORS:
            self.refuse(node, f"the operator `{_OPERATOR_TEXT.get(name, name)}` is not "
                        "supported", "bitwise operators have no derivative")

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if type(node.op).__name__ not in UNARY_OPERATORS:
            self.refuse(node, "the operator `~` is not supported", "bitwise operators have "
                        "no derivative; the negation of a boolean array is "
                        "numpy.logical_not(c), of a test `not`")
        self.visit(node.operand)

    def visit_Compare(self, node: ast.Compare) -> None:
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.Is, ast.IsNot)):
            operands = [node.left, node.comparators[0]]
            nones = [o for o in operands if isinstance(o, ast.Constant) and o.value is None]
            if len(nones) == 1:  # x is None, x is not None: a test, never differentiated
                self.visit(next(o for o in operands if o is not nones[0]))
                return
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq)) and any(
                _is_string(o) for o in (node.left, node.comparators[0])):
            for operand in (node.left, node.comparators[0]):  # kind == "tanh": a test
                if not _is_string(operand):
                    self.visit(operand)
            return
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)) and isinstance(
                node.comparators[0], (ast.Tuple, ast.List)):
            # kind in ("tanh", "relu"), i in (0, n - 1): a test, never differentiated
            self.visit(node.left)
            for element in node.comparators[0].elts:
                if isinstance(element, ast.Starred):
                    self.refuse(element, "`*` in the tuple an `in` test reads is not supported")
                if not _is_string(element):
                    self.visit(element)
            return
        for op in node.ops:
            if isinstance(op, (ast.In, ast.NotIn, ast.Is, ast.IsNot)):
                self.refuse(node, "only comparisons (< <= > >= == !=), tests against None "
                            "(x is None, x is not None) and `in` a tuple or list written out "
                            "(kind in (\"tanh\", \"relu\"), i in (0, n - 1)) are supported")
        self.visit(node.left)
        for comparator in node.comparators:
            self.visit(comparator)

    def visit_List(self, node: ast.List | ast.Tuple) -> None:
        """A list or tuple of numbers is data: looped over, indexed, or an array in
        arithmetic with arrays (``x - [3.0, 5.0]``). Others are not supported yet."""
        from .lower import is_literal
        if not is_literal(node) or not node.elts:
            self.generic_visit(node)
        for element in node.elts:
            self.visit(element)

    visit_Tuple = visit_List

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, complex):
            self.refuse(node, "complex numbers are not supported")
        if isinstance(node.value, str):
            self.refuse(node, "str constants are not supported here",
                        "a string is an option: passed to a function, assigned to a name, "
                        "compared with ==, != or in; srcdiff differentiates arithmetic on "
                        "numbers")
        if not isinstance(node.value, (int, float)):  # bool is an int
            self.refuse(node, f"{type(node.value).__name__} constants are not supported",
                        "srcdiff differentiates arithmetic on numbers")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.local_functions:
            self.refuse(node, f"the local function `{node.id}` is used as a value",
                        "srcdiff differentiates calls to local functions, not functions "
                        "passed around or returned")
        if node.id in self.locals:
            return
        value = self.parsed.lookup(node.id)
        if value is UNRESOLVED:
            self.refuse(node, f"name `{node.id}` is not defined", cls=SrcdiffNameError,
                        hint="define it before srcdiff generates the gradient (a decorator "
                        "runs when the `def` runs; call srcdiff.grad(f) later otherwise)")
        self.check_value(node, value)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.visit(node.value)
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str) \
                and self.rooted_in_local(node.value):
            return  # p["w"]: normalize reads it from a structured argument, or refuses it
        node.slice = self.constant_none(node.slice)
        if isinstance(node.slice, ast.Tuple):
            node.slice.elts = [self.constant_none(part) for part in node.slice.elts]
        self.check_index(node.slice)

    def constant_none(self, part: ast.expr) -> ast.expr:
        """A free name bound to ``None`` in an index (``numpy.newaxis``, ``np.newaxis``)
        as the constant it is; anything else unchanged."""
        if isinstance(part, ast.Name) and part.id in self.locals:
            return part
        if isinstance(part, (ast.Name, ast.Attribute)) and not (
                isinstance(part, ast.Attribute) and self.is_method(part)) \
                and self.parsed.resolve(part, self.locals) is None:
            return ast.copy_location(ast.Constant(None), part)
        return part

    def check_index(self, index: ast.expr) -> None:
        """An index: numbers, names, slices, ``None``, ``...``, or a tuple of them."""
        for part in index.elts if isinstance(index, ast.Tuple) else [index]:
            if isinstance(part, ast.Slice):
                for bound in (part.lower, part.upper, part.step):
                    if bound is not None:
                        self.visit(bound)
            elif isinstance(part, ast.Constant) and (part.value is None or part.value is Ellipsis):
                continue
            else:
                self.visit(part)

    def is_method(self, node: ast.Attribute) -> bool:
        """``x.sum`` on a value (not a module): an array method or attribute."""
        return self.is_value(node.value)

    def is_value(self, node: ast.expr) -> bool:
        """Whether ``node`` is a value (``x``, ``x.T``, ``(x * y)``) rather than a module
        or a name that does not resolve (reported as undefined where it is used)."""
        if isinstance(node, ast.Name) and node.id in self.locals:
            return True
        if isinstance(node, ast.Attribute) and self.is_value(node.value):
            return True
        if isinstance(node, (ast.Name, ast.Attribute)):
            value = self.parsed.resolve(node, self.locals)
            return value is not UNRESOLVED and not isinstance(value, type(math))
        return True

    def rooted_in_local(self, node: ast.expr) -> bool:
        """Whether ``node`` is a local name, or items and attributes of one."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return isinstance(node, ast.Name) and node.id in self.locals

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (self.is_method(node) and node.attr in ATTRIBUTES) or self.rooted_in_local(node):
            # p.w: normalize reads it from a structured argument, or refuses it
            self.visit(node.value)
            return
        value = self.parsed.resolve(node, self.locals)
        if value is UNRESOLVED:
            self.refuse(node, f"cannot resolve `{ast.unparse(node)}`",
                        "srcdiff reads attributes of modules (math.pi); pass other "
                        "values as arguments", cls=SrcdiffNameError)
        self.check_value(node, value)

    def check_value(self, node: ast.AST, value: Any) -> None:
        """A free name used as a value (not called) must be a number, a module, or a
        tuple or list of data (constants, which can only be looped over)."""
        if isinstance(value, (int, float, types.ModuleType)):
            return
        if is_complex(value):
            self.refuse(node, f"`{ast.unparse(node)}` is complex ("
                        f"{getattr(value, 'dtype', type(value).__name__)}): complex numbers "
                        "are not supported (srcdiff differentiates real arithmetic)")
        if isinstance(value, (tuple, list)) and all(
                isinstance(v, (int, float, tuple, list)) for v in value):
            return
        if kind_of_value(value) is not None:  # a NumPy array or scalar
            return
        self.refuse(node, f"`{ast.unparse(node)}` is a {type(value).__name__}; srcdiff "
                    "reads free names that are numbers (constants), NumPy arrays, "
                    "modules, or tuples and lists of numbers")

    def visit_Call(self, node: ast.Call) -> None:
        for keyword in node.keywords:
            if keyword.arg is None:
                self.refuse(keyword, "`**` arguments in calls are not supported yet",
                            "pass arguments by name")
        if isinstance(node.func, ast.Subscript) and self.rooted_in_local(node.func):
            # self.layers[-1](x): normalize calls the __call__ of an object given as an
            # argument (or held by one), or refuses the call
            self.visit(node.func)
            for argument in node.args + [k.value for k in node.keywords]:
                self.inlined_argument(argument)
            return
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            self.refuse(node.func, "only calls to named functions are supported")
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.spread_call(node)
            return
        if isinstance(node.func, ast.Name) and node.func.id in self.local_functions:
            for argument in node.args + [k.value for k in node.keywords]:
                self.inlined_argument(argument)
            return  # a local function: inlined, and checked where it is defined
        if isinstance(node.func, ast.Attribute) and isinstance(
                self.parsed.resolve(node.func, self.locals), types.FunctionType) and \
                not RULES.knows(self.parsed.resolve(node.func, self.locals)) and \
                not library_function(self.parsed.resolve(node.func, self.locals)):
            for argument in node.args + [k.value for k in node.keywords]:
                self.inlined_argument(argument)
            return  # Model.forward(self, x), a function a class defines: inlined
        if isinstance(node.func, ast.Attribute) and self.is_method(node.func):
            if node.func.attr in ("items", "values", "keys") and not node.args and \
                    not node.keywords:
                self.visit(node.func.value)  # of a dict normalize follows, or refused there
                return
            self.check_method(node)
            return
        callee = self.parsed.resolve(node.func, self.locals)
        text = ast.unparse(node.func)
        if callee is isinstance:  # a test, never differentiated (as x is None)
            if len(node.args) != 2 or node.keywords or not self.classes(node.args[1]):
                self.refuse(node, "isinstance(x, T) is supported with T a class or a tuple "
                            "of classes that srcdiff can read where it writes the gradient "
                            "(int, float, numpy.ndarray, (int, float))")
            self.visit(node.args[0])
            return
        if callee is dict:  # dict(w=a, b=b): a dict normalize follows
            if node.args:
                self.refuse(node, "dict() is supported with keyword arguments "
                            "(`dict(w=a, b=b)`)", "write a dict literal")
            for keyword in node.keywords:
                self.sequence(keyword.value)
            return
        if _is_reduction(callee) and node.args and not (callee in (min, max) and len(node.args) > 1):
            self.check_reduction(node, callee)
            return
        if (callee is math.fsum or callee is math.dist) and not node.keywords and \
                len(node.args) == (1 if callee is math.fsum else 2):
            for argument in node.args:  # normalize writes the elements out, or refuses
                if isinstance(argument, (ast.GeneratorExp, ast.ListComp)):
                    self.check_comprehension(argument)
                else:
                    self.iterable(argument)
            return
        if isinstance(callee, types.FunctionType) and not RULES.knows(callee) and \
                library_function(callee) and not is_pure(callee):
            # dataclasses.replace, statistics.mean: not the user's to inline (its source
            # is the library's), and no rule
            self.refuse(node, f"no derivative rule for {qualified_name(callee)}",
                        cls=MissingRuleError, hint="srcdiff inlines the functions of your "
                        "own modules; a library's needs a rule: srcdiff.register_rule("
                        f"{qualified_name(callee)}, ...), see help(srcdiff.register_rule)")
        if isinstance(callee, types.FunctionType) and not RULES.knows(callee):
            for argument in node.args + [k.value for k in node.keywords]:
                self.inlined_argument(argument)
            return  # a user function: inlined, and checked on its own when it is
        if callee is UNRESOLVED:
            if isinstance(node.func, ast.Name) and node.func.id in self.locals:
                # layer(x): normalize inlines the __call__ of an object given as an
                # argument (or held by one), or refuses the call
                for argument in node.args + [k.value for k in node.keywords]:
                    self.inlined_argument(argument)
                return
            self.refuse(node.func, f"name `{text}` is not defined", cls=SrcdiffNameError,
                        hint="define it before srcdiff generates the gradient")
        if _is_numpy(callee) and getattr(callee, "__name__", None) == "clip" and (
                node.keywords or any(isinstance(a, ast.Constant) and a.value is None
                                     for a in node.args[1:3])) \
                and 1 <= len(node.args) <= 3 and all(
                    k.arg in ("a_min", "a_max", "min", "max") for k in node.keywords):
            # numpy.clip(x, a_min=0.0, a_max=None), numpy.clip(x, 0.0, None): normalize
            # reads its bounds by position or keyword (a missing or None bound leaves that
            # side open)
            for argument in node.args + [k.value for k in node.keywords]:
                if not (isinstance(argument, ast.Constant) and argument.value is None):
                    self.visit(argument)
            return
        self.check_arguments_of(node, callee)
        self.check_callee(node, callee, text)

    def classes(self, node: ast.expr) -> bool:
        """Whether ``node`` names a class (a builtin, ``numpy.ndarray``) or is a tuple of
        such, as ``isinstance`` takes them."""
        if isinstance(node, ast.Tuple):
            return bool(node.elts) and all(self.classes(e) for e in node.elts)
        return isinstance(node, (ast.Name, ast.Attribute)) and not (
            isinstance(node, ast.Name) and node.id in self.locals) and \
            isinstance(self.parsed.resolve(node, self.locals), type)

    def spread_call(self, node: ast.Call) -> None:
        """``f(*xs)``: normalize spreads a list or tuple whose elements it knows (made in
        the function, written out, part of a structured argument) into the arguments,
        and checks the call then; here, what it reads."""
        if isinstance(node.func, ast.Attribute) and self.is_method(node.func):
            self.refuse(node, "`*` arguments to methods are not supported yet",
                        "pass arguments one by one")
        callee = self.parsed.resolve(node.func, self.locals)
        if callee is UNRESOLVED and not (isinstance(node.func, ast.Name)
                                         and node.func.id in self.local_functions):
            self.refuse(node.func, f"name `{ast.unparse(node.func)}` is not defined",
                        cls=SrcdiffNameError, hint="define it before srcdiff generates the "
                        "gradient")
        if callee is print:
            self.refuse(node, "`*` arguments to print are not supported yet",
                        "print the values one by one")
        for argument in node.args:
            self.iterable(argument.value if isinstance(argument, ast.Starred) else argument)
        for keyword in node.keywords:
            self.check_option(keyword.value, keyword.arg == "dtype")

    def check_reduction(self, node: ast.Call, callee: Callable[..., Any]) -> None:
        """``sum``, ``min``, ``max``, ``math.prod``, ``any``, ``all`` of one iterable (a
        generator expression, a list comprehension, a list srcdiff follows, an array):
        normalize writes the loop out; ``sum`` and ``math.prod`` take a start."""
        name = "math.prod" if callee is math.prod else callee.__name__
        starts = 2 if callee is sum else 1
        if len(node.args) > starts or any(k.arg != "start" or callee not in (sum, math.prod)
                                          for k in node.keywords) or (
                len(node.args) > 1 and node.keywords):
            self.refuse(node, f"{name}() of one iterable is supported"
                        + (" (with a start)" if callee in (sum, math.prod) else "")
                        + ("; key= and default= are not" if callee in (min, max) else ""))
        for argument in node.args[:1]:
            if isinstance(argument, (ast.GeneratorExp, ast.ListComp)):
                self.check_comprehension(argument)
            else:
                self.iterable(argument)
        for argument in node.args[1:] + [k.value for k in node.keywords]:
            self.visit(argument)

    def check_comprehension(self, node: ast.GeneratorExp | ast.ListComp) -> None:
        """Normalize writes a comprehension out as the loops it stands for."""
        for generator in node.generators:
            if generator.is_async:
                self.refuse(node, "asynchronous comprehensions are not supported")
            self.check_target(generator.target, allow_tuple=True)
            self.iterable(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        self.sequence(node.elt)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self.check_comprehension(node)

    def check_arguments_of(self, node: ast.Call, callee: object) -> None:
        """Positional arguments are expressions; NumPy functions also take keywords for
        their options, and lists of arrays (``numpy.stack([a, b])``), shapes, ``dtype``
        and strings (``numpy.einsum``) as constants."""
        rule = RULES.lookup(callee, len(node.args) + len(RULES.positional_keywords(
            callee, node)))  # numpy.interp(x, xp=xp, fp=fp): by position (normalize)
        params = getattr(rule, "params", None)
        numpy_function = params is not None or (
            (RULES.is_nondifferentiable(callee) or (rule is None and is_pure(callee)))
            and _is_numpy(callee))
        if node.keywords and not numpy_function:
            self.refuse(node, "keyword arguments to primitives are not supported yet",
                        "pass arguments by position")
        for keyword in node.keywords:
            if params is not None and keyword.arg not in params:
                self.refuse(keyword, f"{qualified_name(callee)} has no parameter "
                            f"{keyword.arg!r} that srcdiff differentiates (it knows "
                            f"{', '.join(params)})")
            self.check_option(keyword.value, keyword.arg == "dtype")
        for index, argument in enumerate(node.args):
            if params is not None and index < len(params) and params[index] == "dtype":
                self.check_option(argument, True)  # numpy.array(x, float)
            elif params is not None and index < len(params) and params[index] == "index" \
                    and getattr(callee, "__module__", None) == "srcdiff.runtime":
                self.index_value(argument)
            elif numpy_function and isinstance(argument, (ast.List, ast.Tuple)):
                self.check_option(argument, False)
            elif numpy_function and isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                continue
            else:
                self.visit(argument)

    def index_value(self, argument: ast.expr) -> None:
        """An index as a value, given to one of srcdiff's runtime helpers
        (``runtime.set_item``) by gradient code differentiated again
        (``array_rules.index_value`` wrote it): ``numpy.s_[1:]``, ``(..., -1)``, or any
        value."""
        if isinstance(argument, ast.Subscript) and ast.unparse(argument.value) == \
                "numpy.s_" and self.parsed.resolve(argument.value, self.locals) is \
                getattr(sys.modules.get("numpy"), "s_", None):
            self.check_index(argument.slice)
        elif isinstance(argument, ast.Tuple):
            self.check_index(argument)
        else:
            self.visit(argument)

    def check_option(self, node: ast.expr, dtype: bool) -> None:
        if dtype and _complex_dtype(node if isinstance(node, ast.Constant) else
                                    self.parsed.resolve(node, self.locals)):
            self.refuse(node, "complex numbers are not supported (srcdiff differentiates "
                        "real arithmetic)")
        if isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                self.check_option(element, False)
        elif isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (str, bool))):
            return
        elif dtype and isinstance(self.parsed.resolve(node, self.locals), type):
            return  # dtype=float, dtype=numpy.float32
        else:
            self.visit(node)

    def check_method(self, node: ast.Call) -> None:
        func = cast(ast.Attribute, node.func)  # a method call
        if func.attr not in METHODS and self.rooted_in_local(func.value):
            # self.forward(x): normalize inlines the method of an object given as an
            # argument, with its arguments as a user function's, or refuses it
            self.visit(func.value)
            for argument in node.args + [k.value for k in node.keywords]:
                self.inlined_argument(argument)
            return
        if isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) and \
                func.value.func.id == "super":
            self.refuse(func, "`super()` is not supported", f"call the base class's method "
                        f"by its name: Base.{func.attr}(self, ...)")
        owner = self.parsed.resolve(func.value, self.locals)
        if isinstance(owner, type) and func.attr not in METHODS:
            kind = type(inspect.getattr_static(owner, func.attr, None)).__name__
            self.refuse(func, f"`{ast.unparse(func)}` is a {kind} of the class, not a function "
                        "srcdiff can inline", "srcdiff inlines the functions and "
                        "staticmethods a class defines (a classmethod: make it a "
                        "staticmethod or a module function)")
        if func.attr not in METHODS:
            self.refuse(func, f"the method `.{func.attr}()` is not supported",
                        "srcdiff differentiates the array methods "
                        + ", ".join(sorted(METHODS)) + "; call a function instead")
        self.visit(func.value)
        if func.attr == "astype":  # x.astype(float): a dtype, by position or keyword only
            if len(node.args) + len(node.keywords) != 1 or any(
                    k.arg != "dtype" for k in node.keywords):
                self.refuse(node, "`.astype()` takes one dtype (order=, casting= and copy= "
                            "are not supported)")
            for argument in node.args:
                self.check_option(argument, True)
        for argument in ([] if func.attr == "astype" else node.args):
            self.check_option(argument, False) if isinstance(argument, (ast.List, ast.Tuple)) \
                else self.visit(argument)
        for keyword in node.keywords:
            self.check_option(keyword.value, keyword.arg == "dtype")
        self.check_method_arguments(node, func)

    def check_method_arguments(self, node: ast.Call, func: ast.Attribute) -> None:
        """A method is the NumPy function of ``METHODS`` given the array first (normalize):
        its arguments are checked as that function's are where it is called by name, so an
        option the rule does not take (``x.reshape(2, 2, order="F")``, ``X.trace(offset=1)``,
        ``X.var(correction=1)``) is refused rather than dropped, and a number of arguments
        it has no rule for (``X.trace(1)``) is refused here."""
        numpy = sys.modules.get("numpy")
        if numpy is None or func.attr in ("item", "astype", "clip", "copy"):
            return  # (normalize writes these itself)
        callee = getattr(numpy, METHODS[func.attr], None)
        if callee is None or RULES.is_nondifferentiable(callee):
            return
        given = (1 if node.args else 0) if func.attr in TUPLE_METHODS else len(node.args)
        rule = RULES.lookup(callee, 1 + given)
        params = getattr(rule, "params", None)
        if rule is None:
            self.refuse(node, f"`.{func.attr}()` is differentiated as numpy.{METHODS[func.attr]}"
                        f", which srcdiff has no rule for with {1 + given} argument"
                        f"{'s' if given else ''} (the array, and those given by position)",
                        f"call numpy.{METHODS[func.attr]} with the arguments it documents",
                        cls=MissingRuleError)
        for keyword in node.keywords:
            if params is not None and keyword.arg not in params[1 + given:]:
                self.refuse(keyword, f"numpy.{METHODS[func.attr]} (`.{func.attr}()`) has no "
                            f"parameter {keyword.arg!r} that srcdiff differentiates (it knows "
                            f"{', '.join(params[1 + given:]) or 'none'} here)")

    def check_callee(self, node: ast.Call, callee: object, text: str) -> None:
        # keywords giving a rule's required arguments count as positions (normalize
        # passes them so): numpy.interp(x, xp=xp, fp=fp)
        nargs = len(node.args) + len(RULES.positional_keywords(callee, node))
        if RULES.is_nondifferentiable(callee):
            return
        if callee in (min, max) and nargs >= 2:
            return  # normalize nests min(a, b, c) into min(min(a, b), c)
        if RULES.lookup(callee, nargs) is not None:
            return
        name = qualified_name(callee)
        if not RULES.knows(callee) and is_pure(callee):
            # a pure function without a rule: a constant where its arguments are (analyse
            # refuses it where one depends on the differentiated arguments)
            refused = refused_argument(callee, node)
            if refused is not None:
                self.refuse(refused[0], refused[1], hint=refused[2])
            return
        if RULES.knows(callee):
            family = RULES.families.get(callee) if callee in RULES.families else None
            arities = sorted(k[1] for k in RULES.rules if k[0] is callee)
            takes = f"{family.least} or more" if family is not None else \
                " or ".join(map(str, arities))
            operands = getattr(callee, "nin", None)  # a NumPy ufunc's
            params = ", ".join(f"x{i}" for i in range(nargs)) or "x"
            if isinstance(operands, int) and type(callee).__name__ == "ufunc" \
                    and nargs > operands:
                hint = (f"{name} takes {operands} operand{'s' if operands != 1 else ''}; "
                        "the next positional argument is its `out` array, which srcdiff "
                        "does not support")
            elif node.keywords:
                hint = (f"pass the arguments of {name} by position (its rule takes "
                        f"{takes})")
            elif _is_numpy(callee) and getattr(callee, "__name__", None) == "where" and \
                    nargs == 1:
                hint = "numpy.where(c) with one argument is numpy.nonzero(c): write that"
            elif not _takes(callee, nargs):
                hint = (f"{name} does not take {nargs} argument{'s' if nargs != 1 else ''}: "
                        "Python raises TypeError here")
            else:
                hint = (f"register one: srcdiff.register_rule({name}, lambda {params}: "
                        "<partial derivatives>), see help(srcdiff.register_rule)")
            self.refuse(node, f"no derivative rule for {name} with {nargs} argument"
                        f"{'s' if nargs != 1 else ''} (rules take {takes})",
                        cls=MissingRuleError, hint=hint)
        params = ", ".join(f"x{i}" for i in range(nargs)) or "x"
        self.refuse(node, f"no derivative rule for {name}", cls=MissingRuleError,
                    hint=f"register one: srcdiff.register_rule({name}, lambda {params}: "
                    f"<partial derivatives>), see help(srcdiff.register_rule)")

    def generic_visit(self, node: ast.AST) -> None:
        kind = type(node)
        if kind in NOT_YET:
            self.refuse(node, f"{NOT_YET[kind]} not supported yet", HINTS.get(kind))
        if kind in NEVER:
            self.refuse(node, f"{NEVER[kind]} not supported", HINTS.get(kind))
        self.refuse(node, f"`{kind.__name__}` is not supported")


def _takes(callee: object, count: int) -> bool:
    """Whether ``callee`` can be called with ``count`` positional arguments (True where
    its signature is not known)."""
    try:
        signature = inspect.signature(callee)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


class Opaque:
    """The checks of a statement run as written, a ``try`` (``Fence.visit_Try``) or a
    ``raise`` (``Fence.visit_Raise``): walks it, with the number of loops inside it
    around each node."""

    FORBIDDEN = {
        ast.Return: "`return` inside `try`", ast.Yield: "`yield` inside `try`",
        ast.YieldFrom: "`yield from` inside `try`", ast.Await: "`await` inside `try`",
        ast.Global: "`global` inside `try`", ast.Nonlocal: "`nonlocal` inside `try`",
        ast.Delete: "`del` inside `try`", ast.FunctionDef: "a function defined inside `try`",
        ast.AsyncFunctionDef: "a function defined inside `try`",
        ast.Lambda: "a lambda inside `try`", ast.ClassDef: "a class defined inside `try`",
        ast.NamedExpr: "`:=` inside `try`",
    }
    HINTS = {ast.Return: "assign the value inside `try` and return it after",
             ast.Break: "set a flag inside `try` and test it after"}

    def __init__(self, fence: Fence, node: ast.Try | ast.Raise) -> None:
        self.fence = fence
        self.node = node
        self.inside = "`try`" if isinstance(node, ast.Try) else "`raise`"

    def check(self) -> None:
        assert isinstance(self.node, ast.Try)
        if not self.node.handlers and not self.node.finalbody:
            self.fence.refuse(self.node, "`try` without `except` or `finally`")
        self.visit(self.node, 0)

    def visit(self, node: ast.AST, loops: int) -> None:
        kind = type(node)
        if kind in self.FORBIDDEN:
            self.fence.refuse(node, f"{self.FORBIDDEN[kind].replace('`try`', self.inside)} "
                              "is not supported",
                              self.HINTS.get(kind, f"srcdiff runs a {self.inside} as written"))
        if kind in (ast.Break, ast.Continue) and not loops:
            self.fence.refuse(node, f"`{'break' if kind is ast.Break else 'continue'}` "
                              "inside `try` of a loop outside it is not supported",
                              self.HINTS[ast.Break])
        if isinstance(node, ast.alias) and node.asname is None and "." in node.name:
            self.fence.refuse(self.node, f"`import {node.name}` inside `try` is not "
                              "supported", f"import {node.name} as "
                              f"{node.name.rsplit('.', 1)[1]}")
        if isinstance(node, ast.Name) and node.id in self.fence.local_functions:
            self.fence.refuse(node, f"the local function `{node.id}` is used inside "
                              f"{self.inside}, which srcdiff runs as written (it inlines "
                              "local functions)",
                              "define the function at module level")
        if isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
            for target in [node.target] if isinstance(node, (ast.For, ast.AsyncFor)) else []:
                self.visit(target, loops)
            self.visit(node.iter if not isinstance(node, ast.While) else node.test, loops)
            for statement in node.body:
                self.visit(statement, loops + 1)
            for statement in node.orelse:
                self.visit(statement, loops)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child, loops)


def _is_reduction(callee: object) -> bool:
    return any(callee is f for f in (sum, min, max, math.prod, any, all))


def _is_numpy(callee: object) -> bool:
    return (getattr(callee, "__module__", None) or "").split(".")[0] in ("numpy", "scipy")


_OPERATOR_TEXT = {"BitAnd": "&", "BitOr": "|", "BitXor": "^", "LShift": "<<", "RShift": ">>"}


def _always_returns(body: list[ast.stmt]) -> bool:
    """Whether every path through ``body`` ends in a ``return`` or a ``raise`` (loops
    may not run)."""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, (ast.Return, ast.Raise)):
        return True
    if isinstance(last, ast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    if isinstance(last, ast.While) and isinstance(last.test, ast.Constant) and \
            last.test.value and not _breaks(last.body):
        return True  # while True: left only by a return or a raise
    return False


def _breaks(body: list[ast.stmt]) -> bool:
    """Whether a ``break`` in ``body`` leaves the loop ``body`` belongs to (not one of
    a loop nested in it)."""
    for statement in body:
        if isinstance(statement, ast.Break):
            return True
        if isinstance(statement, (ast.If, ast.With, ast.Try)):
            blocks = [statement.body, getattr(statement, "orelse", [])]
            if isinstance(statement, ast.Try):
                blocks += [h.body for h in statement.handlers] + [statement.finalbody]
            if any(_breaks(block) for block in blocks):
                return True
        elif isinstance(statement, (ast.For, ast.While)) and _breaks(statement.orelse):
            return True  # a nested loop's else belongs to the loop outside
    return False


def _is_check(callee: object) -> bool:
    """``runtime.writable`` or ``runtime.in_place`` (found without importing the runtime,
    which imports NumPy)."""
    return getattr(callee, "__module__", None) == "srcdiff.runtime" and \
        getattr(callee, "__name__", None) in ("writable", "in_place")


def _is_string(node: ast.expr) -> bool:
    """A string written out: an option (``kind="tanh"``), passed to a function srcdiff
    inlines, assigned to a name, compared with ``==``, ``!=`` or ``in``, looped over in
    a tuple; never in arithmetic or given to a primitive."""
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
        and isinstance(statement.value.value, str)


def _names_in_tuples(target: ast.expr) -> bool:
    """A tuple of names, or of such tuples: ``a, b``, ``i, (a, b)``."""
    return isinstance(target, ast.Tuple) and all(
        isinstance(e, ast.Name) or _names_in_tuples(e) for e in target.elts)


class _Deleted:
    """``del name`` is supported where nothing reads the name until it is assigned
    again, on every path (normalize then drops it): here, the names maybe deleted at
    each point, from the function's start; a read of one, a ``del`` of one (Python
    raises), or any mention of a deleted name in a local function or lambda (called
    when, srcdiff would have to know) is refused where written."""

    def __init__(self, fence: Fence, deleted: set[str]) -> None:
        self.fence = fence
        self.loops: list[tuple[list[frozenset[str]], list[frozenset[str]]]] = []
        self.deleted = deleted

    @staticmethod
    def analyse(fence: Fence, tree: ast.FunctionDef) -> None:
        """The ``del`` statements of ``tree``'s own body (a local function's are its own)."""
        deleted = {t.id for node in _own_scope(tree.body) if isinstance(node, ast.Delete)
                   for t in node.targets if isinstance(t, ast.Name)}
        if deleted:
            _Deleted(fence, deleted).block(tree.body, frozenset())

    def check(self, node: ast.AST, state: frozenset[str]) -> None:
        for found in ast.walk(node):
            if isinstance(found, (ast.Lambda, ast.FunctionDef)):
                self.local_function(found)
            if isinstance(found, ast.Name) and isinstance(found.ctx, ast.Load) \
                    and found.id in state:
                self.fence.refuse(found, f"`{found.id}` is read where `del {found.id}` "
                                  "may have deleted it: srcdiff supports `del` of names not "
                                  "read again until assigned", "drop the `del`, or assign "
                                  "the name before reading it")

    def local_function(self, node: ast.Lambda | ast.FunctionDef) -> None:
        for found in ast.walk(node):
            if isinstance(found, ast.Name) and found.id in self.deleted:
                self.fence.refuse(found, f"`{found.id}`, which the function deletes, is "
                                  "read by a local function or lambda: not supported",
                                  "drop the `del`")

    def block(self, statements: list[ast.stmt], state: frozenset[str]) -> frozenset[str] | None:
        """The names maybe deleted after ``statements`` (None: they never end there)."""
        current: frozenset[str] | None = state
        for statement in statements:
            if current is None:
                return None
            current = self.statement(statement, current)
        return current

    def statement(self, node: ast.stmt, state: frozenset[str]) -> frozenset[str] | None:
        if isinstance(node, ast.Delete):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in state:
                    self.fence.refuse(target, f"`del {target.id}` where `{target.id}` may "
                                      "be deleted already: Python raises")
            return state | frozenset(names)
        if isinstance(node, ast.If):
            self.check(node.test, state)
            outs = [o for o in (self.block(node.body, state), self.block(node.orelse, state))
                    if o is not None]
            return frozenset().union(*outs) if outs else None
        if isinstance(node, (ast.For, ast.While)):
            return self.loop(node, state)
        if isinstance(node, (ast.Break, ast.Continue)):
            if self.loops:
                self.loops[-1][isinstance(node, ast.Continue)].append(state)
            return None
        if isinstance(node, ast.FunctionDef):
            self.local_function(node)
            return state
        self.check(node, state)
        if isinstance(node, (ast.Return, ast.Raise)):
            return None
        bound = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                 and isinstance(n.ctx, ast.Store)}
        return state - bound

    def loop(self, node: ast.For | ast.While, state: frozenset[str]) -> frozenset[str]:
        if isinstance(node, ast.For):
            self.check(node.iter, state)
        target = frozenset(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)) \
            if isinstance(node, ast.For) else frozenset()
        head = state
        while True:  # the states at the head grow until none is new
            if isinstance(node, ast.While):
                self.check(node.test, head)
            breaks: list[frozenset[str]] = []
            continues: list[frozenset[str]] = []
            self.loops.append((breaks, continues))
            out = self.block(node.body, head - target)
            self.loops.pop()
            new = head.union(*continues, *([out] if out is not None else []))
            if new == head:
                break
            head = new
        after = self.block(node.orelse, head) if node.orelse else head
        return (after or frozenset()).union(*breaks)


def _own_scope(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node of ``body`` but those inside local functions and lambdas."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _complex_dtype(value: object) -> bool:
    """A dtype (a type, a NumPy dtype, its name as a string constant) of complex numbers:
    ``dtype=complex``, ``numpy.complex128``, ``"complex64"``, ``"c16"``."""
    if isinstance(value, ast.Constant):
        value = value.value
    numpy = sys.modules.get("numpy")
    try:
        if numpy is not None:
            return bool(numpy.dtype(value).kind == "c")
        return value is complex
    except Exception:  # not a dtype: not complex
        return False
