"""Tuple-output variants of generated programs: the program with every ``return e`` of
its own body turned into ``return e, other`` (or ``return other, e``), ``other`` one of:
``e`` again (``r = e; return r, r``: the two cotangents add), a constant (its cotangent
pulls back to nothing, its tangent is zero), a parameter differentiated (its pull-back
is the cotangent itself), or twice one. ``Run.check_tuple_outputs`` checks ``vjp`` and
``jvp`` of the variant against the program's gradient. Drawn from its own random
stream, so the program itself is unchanged.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

OTHERS = ("again", "constant", "parameter", "scaled")
RESULT = "result_t"  # the value returned twice, for "again"
CONSTANT = 1.5


@dataclass
class Variant:
    source: str            # the module with the variant appended
    function: str          # its name
    other: str             # one of OTHERS
    first: bool            # whether the program's value comes first in the tuple
    parameter: int | None  # for "parameter" and "scaled": its position


class _Returns(ast.NodeTransformer):
    """Each ``return e`` of the function (not of functions nested in it) rewritten."""

    def __init__(self, other: str, first: bool, parameter: str | None):
        self.other, self.first, self.parameter = other, first, parameter

    def visit_FunctionDef(self, node):
        return node  # a nested helper's returns are its own

    def visit_Lambda(self, node):
        return node

    def visit_Return(self, node):
        assert node.value is not None
        before = []
        value = node.value
        if self.other == "again":
            before = [ast.Assign([ast.Name(RESULT, ast.Store())], value)]
            value = ast.Name(RESULT, ast.Load())
            other = ast.Name(RESULT, ast.Load())
        elif self.other == "constant":
            other = ast.Constant(CONSTANT)
        elif self.other == "parameter":
            other = ast.Name(self.parameter, ast.Load())
        else:
            other = ast.BinOp(ast.Constant(2.0), ast.Mult(), ast.Name(self.parameter, ast.Load()))
        elements = [value, other] if self.first else [other, value]
        return before + [ast.Return(ast.Tuple(elements, ast.Load()))]


def _stored(func: ast.FunctionDef) -> set[str]:
    return {n.id for n in ast.walk(func) if isinstance(n, ast.Name)
            and isinstance(n.ctx, (ast.Store, ast.Del))}


def make(case) -> Variant | None:
    """The tuple-output variant of ``case`` (None where it has none)."""
    rng = random.Random(f"tuples/{case.kind}/{case.seed}")
    module = ast.parse(case.source)
    func = next((n for n in module.body if isinstance(n, ast.FunctionDef)
                 and n.name == case.function), None)
    if func is None or RESULT in case.source:
        return None
    other = rng.choice(OTHERS)
    first = rng.random() < 0.5
    position = rng.choice(case.wrt)
    parameter = case.names[position]
    if other in ("parameter", "scaled") and parameter in _stored(func):
        other = "constant"  # the body rebinds it: what it returns is not the argument
    new = ast.parse(ast.unparse(func)).body[0]
    new.name = f"{case.function}_tuple"
    new.body = [s for statement in new.body
                for s in _as_list(_Returns(other, first, parameter).visit(statement))]
    ast.fix_missing_locations(new)
    source = case.source + "\n\n\n" + ast.unparse(new) + "\n"
    return Variant(source, new.name, other, first,
                   position if other in ("parameter", "scaled") else None)


def _as_list(result) -> list:
    return result if isinstance(result, list) else [result]
