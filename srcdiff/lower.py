"""Stage 4, lower: core form to three-address form.

Contract: takes a normalized ``ir.Function`` and returns one whose every assignment
applies *one* primitive (an operator, a call, a comparison) to atoms (names and numeric
literals), or copies an atom. Nested expressions get temporaries named after their
operation (``mul``, ``sin``...). Straight-line code is put in single-assignment form: a
variable assigned twice gets a fresh name the second time (``x_1``), so the backward
sweep can read every value it needs without a tape. The user's own names survive.
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

from .ir import Function, set_anno
from .parse import local_names

_OPERATION_NAMES = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "power",
    ast.FloorDiv: "quot", ast.Mod: "rem", ast.USub: "neg", ast.UAdd: "pos",
}


def lower(function: Function) -> Function:
    return Lowering(function).run()


def is_atom(node: ast.expr) -> bool:
    """A name, a numeric literal (``-2`` included) or a module attribute (``math.pi``)."""
    if isinstance(node, (ast.Name, ast.Constant, ast.Attribute)):
        return True
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
        and isinstance(node.operand, ast.Constant)


class Lowering:
    """State: ``env`` maps each user variable to the name holding its current value;
    ``body`` collects the three-address statements; ``line`` is the source line of the
    statement being lowered."""

    def __init__(self, function: Function):
        self.function = function
        self.namer = function.namer
        self.parsed = function.parsed
        self.locals = local_names(function.parsed.tree)
        args = function.args
        self.env = {a.arg: a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        self.body: list[ast.stmt] = []
        self.line = function.parsed.firstlineno

    def run(self) -> Function:
        output = None
        for statement in self.function.body:
            self.line = statement.lineno
            if isinstance(statement, ast.Return):
                output = self.atom(statement.value, base=self.function.name)
                self.emit(ast.Return(output))
            else:
                target = statement.targets[0].id
                value = self.primitive(statement.value)
                self.emit(ast.Assign([ast.Name(self.define(target), ast.Store())], value))
        return self.function.replace(body=self.body, output=output)

    def emit(self, statement: ast.stmt) -> None:
        statement.lineno = self.line
        set_anno(statement, "line", self.line)
        self.body.append(ast.fix_missing_locations(statement))

    def define(self, variable: str) -> str:
        """The name a new value of ``variable`` is stored under."""
        if variable in self.env:
            name = self.namer.fresh(variable)
        else:
            name = variable
            self.namer.taken.add(name)
        self.env[variable] = name
        return name

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
            return ast.Compare(self.atom(node.left), node.ops,
                               [self.atom(c) for c in node.comparators])
        if isinstance(node, ast.Call):
            call = ast.Call(node.func, [self.atom(a) for a in node.args], [])
            set_anno(call, "callee", self.parsed.resolve(node.func, self.locals))
            return call
        raise AssertionError(f"the fence let {type(node).__name__} through")


def _operation_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        func = node.func
        return func.attr if isinstance(func, ast.Attribute) else func.id
    if isinstance(node, ast.Compare):
        return "cond"
    return _OPERATION_NAMES.get(type(getattr(node, "op", None)), "t")
