"""Stage 3, normalize: rewrite the accepted language into a small core.

Contract: takes a fenced ``parse.Parsed`` and returns an ``ir.Function`` whose body holds
only ``name = expression`` assignments and one final ``return expression``. Augmented
and annotated assignments become plain ones, chained targets are split, tuple
assignments evaluate every right-hand side before binding (through a temporary only
where a later element reads the old value), ``min``/``max`` of several arguments nest,
and docstrings and ``pass`` go.

>>> def f(a, b):
...     "Docstring."
...     a, b = b, a * b
...     a += max(a, b, 1.0)
...     return a
>>> from srcdiff.parse import parse
>>> print(normalize(parse(f)).source())
def f(a, b):
    a_new = b
    b = a * b
    a = a_new
    a = a + max(max(a, b), 1.0)
    return a
"""

from __future__ import annotations

import ast
import copy

from .ir import Function, Namer
from .parse import Parsed, all_names, local_names


def normalize(parsed: Parsed) -> Function:
    tree = parsed.tree
    # The function's own name is free for a local unless the body mentions it.
    namer = Namer(all_names(tree.args) | set().union(*(all_names(s) for s in tree.body)))
    function = Function(tree.name, _plain_arguments(tree.args), [], parsed, namer)
    for statement in tree.body:
        function.body.extend(_statement(statement, function))
    return function


def _plain_arguments(args: ast.arguments) -> ast.arguments:
    """The parameters without annotations (defaults are kept as written)."""
    args = copy.deepcopy(args)
    for arg in args.posonlyargs + args.args + args.kwonlyargs:
        arg.annotation = None
    return args


def _statement(node: ast.stmt, function: Function) -> list[ast.stmt]:
    if isinstance(node, ast.Pass) or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        return []
    if isinstance(node, ast.Return):
        return [_located(ast.Return(_expression(node.value, function)), node)]
    if isinstance(node, ast.AnnAssign):
        return [_assign(node.target.id, node.value, node, function)]
    if isinstance(node, ast.AugAssign):
        target = node.target.id
        value = ast.BinOp(ast.Name(target, ast.Load()), node.op, node.value)
        return [_assign(target, _located(value, node), node, function)]
    if isinstance(node, ast.Assign):
        result = []
        for target in node.targets:  # a = b = e binds a, then b, to the same value
            if isinstance(target, ast.Tuple):
                result.extend(_unpack(target, node.value, node, function))
            else:
                result.append(_assign(target.id, node.value, node, function))
        if len(node.targets) > 1:
            first = node.targets[0]
            if isinstance(first, ast.Name):  # later targets copy the first one
                result = [result[0]] + [
                    _assign(t.id, ast.Name(first.id, ast.Load()), node, function)
                    for t in node.targets[1:]]
        return result
    raise AssertionError(f"the fence let {type(node).__name__} through")


def _unpack(target: ast.Tuple, value: ast.Tuple, node, function: Function):
    names = [element.id for element in target.elts]
    direct, deferred = [], []
    for index, (name, element) in enumerate(zip(names, value.elts)):
        read_later = any(isinstance(n, ast.Name) and n.id == name
                         for later in value.elts[index + 1:] for n in ast.walk(later))
        if read_later:
            temporary = function.namer.fresh(name + "_new")
            function.synthetic.add(temporary)
            direct.append(_assign(temporary, element, node, function))
            deferred.append(_assign(name, ast.Name(temporary, ast.Load()), node, function))
        else:
            direct.append(_assign(name, element, node, function))
    return direct + deferred


def _assign(target: str, value: ast.expr, origin: ast.AST, function: Function):
    statement = ast.Assign([ast.Name(target, ast.Store())], _expression(value, function))
    return _located(statement, origin)


class _Core(ast.NodeTransformer):
    """Expression rewrites: ``min``/``max`` of several arguments nest into pairs."""

    def __init__(self, function: Function):
        self.parsed = function.parsed
        self.locals = local_names(function.parsed.tree)

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if len(node.args) > 2 and self.parsed.resolve(node.func, self.locals) in (min, max):
            nested = node.args[0]
            for argument in node.args[1:]:
                nested = _located(ast.Call(copy.copy(node.func), [nested, argument], []), node)
            return nested
        return node


def _expression(node: ast.expr, function: Function) -> ast.expr:
    return _Core(function).visit(copy.deepcopy(node))


def _located(new: ast.AST, origin: ast.AST) -> ast.AST:
    ast.copy_location(new, origin)
    return ast.fix_missing_locations(new)
