"""Stage 8, hygiene: bind the names generated code relies on, so no user name captures them.

Contract: takes the final ``ir.Function`` and returns it with every reference generated
code makes to a module or builtin (``expr.RUNTIME``: ``math``, ``numpy``, ``range``...)
bound in the generated function's closure to the object it must mean. Where the user's
function gives the name another meaning (a local variable called ``numpy``, a global
``range = ...`` it reads), generated code uses a fresh name instead (``range_1``), so
nothing the user binds, locally or in the module, can change what generated code does.

>>> import ast
>>> from srcdiff.expr import runtime_name
>>> def f(x):
...     range = 3.0
...     return x * range
>>> from srcdiff.parse import parse
>>> from srcdiff.normalize import normalize
>>> function = normalize(parse(f))
>>> loop = ast.For(ast.Name("_", ast.Store()), ast.Call(runtime_name("range"), [ast.Constant(2)], []),
...                [ast.Pass()], [])
>>> print(bind_runtime_names(function.replace(body=[loop] + function.body)).source())
def f(x):
    for _ in range_1(2):
        pass
    range = 3.0
    return x * range
"""

from __future__ import annotations

import ast
import importlib
import types
from typing import Any

from .expr import RUNTIME
from .ir import Function, copy_tree, get_anno, walk_code
from .parse import UNRESOLVED, all_names
from .stop import stop_gradient  # at import: see check.py


def runtime_object(name: str) -> Any:
    """The object a ``RUNTIME`` name must refer to."""
    path = RUNTIME[name]
    module, _, attribute = path.partition(":") if ":" in path else path.partition(".")
    value = importlib.import_module(module)
    return getattr(value, attribute) if attribute else value


def bind_runtime_names(function: Function) -> Function:
    nodes = [n for s in function.body for n in walk_code(s)
             if isinstance(n, ast.Name) and get_anno(n, "runtime") is not None]
    if not nodes:
        return function
    parsed = function.parsed
    tree = parsed.tree
    own = parsed.local_names()
    mentioned = all_names(tree)
    chosen: dict[str, str] = {}
    for name in sorted({get_anno(n, "runtime") for n in nodes}):
        value = runtime_object(name)
        found = parsed.lookup(name) if name in mentioned else UNRESOLVED
        clash = name in own or name in function.synthetic or (
            found is not value and found is not UNRESOLVED)
        chosen[name] = function.namer.fresh(name) if clash else name
        parsed.inject(chosen[name], types.CellType(value), ("runtime", name))
    for node in nodes:
        node.id = chosen[get_anno(node, "runtime")]
    return function


def without_stops(function: Function) -> Function:
    """``y = stop_gradient(x)`` as ``y = x``: its derivative was taken as zero already; the
    generated code (standalone modules too) needs no srcdiff for it."""

    class Strip(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.expr:
            self.generic_visit(node)
            if get_anno(node, "callee") is stop_gradient and len(node.args) == 1 \
                    and not node.keywords:
                return node.args[0]
            return node
    if not any(isinstance(n, ast.Call) and get_anno(n, "callee") is stop_gradient
               for s in function.body for n in walk_code(s)):
        return function
    return function.replace(body=[Strip().visit(copy_tree(s)) for s in function.body])


def with_fsum(function: Function) -> Function:
    """``fsum_of(a, b, c)`` (``math.fsum`` of elements normalize wrote out, one primitive
    through the pipeline) as ``math.fsum((a, b, c))``: the same value, and no helper."""
    from .expr import dotted
    from .rules import fsum_of

    class Write(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.expr:
            self.generic_visit(node)
            if get_anno(node, "callee") is fsum_of and not node.keywords:
                return ast.copy_location(ast.Call(dotted("math.fsum"), [
                    ast.Tuple(node.args, ast.Load())], []), node)
            return node
    if not any(isinstance(n, ast.Call) and get_anno(n, "callee") is fsum_of
               for s in function.body for n in walk_code(s)):
        return function
    body = [Write().visit(copy_tree(s)) for s in function.body]
    ast.fix_missing_locations(ast.Module(body, []))
    return function.replace(body=body)
