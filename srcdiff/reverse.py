"""Stage 6, reverse: the adjoint program (reverse mode).

Contract: takes an analysed three-address ``ir.Function`` and returns the gradient
function: the forward sweep (the primal statements), then the backward sweep, which
visits the primal statements in reverse order and, for each active one ``y = op(a, b)``,
adds ``b_y * ∂op/∂a`` to ``b_a`` for every active operand. The partials come from the rule
table, evaluated as code. An adjoint is initialised by its first write (``b_a = ...``),
later contributions accumulate with ``+=``. Each backward statement is annotated with the
primal statement it differentiates (``grad_of``). Unoptimised on purpose: the optimiser
removes what this pass leaves (``b_h = 1.0`` copies, unused primal values).

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
    return b_x
"""

from __future__ import annotations

import ast

from .analyse import arguments, rule_of
from .expr import Code, negated, mul, node_of, wrap
from .ir import Function, set_anno


def reverse(function: Function, name: str, with_value: bool = False,
            as_tuple: bool = False) -> Function:
    """``as_tuple``: return a tuple of gradients even for one ``wrt`` parameter."""
    return Reverse(function).run(name, with_value, as_tuple)


class Reverse:
    """State: ``written`` holds the adjoints initialised so far, ``backward`` the backward
    sweep being built (in execution order)."""

    def __init__(self, function: Function):
        self.function = function
        self.namer = function.namer
        self.written: set[str] = set()
        self.backward: list[ast.stmt] = []

    def adjoint(self, variable: str) -> str:
        name = self.namer.adjoint(variable)
        self.function.synthetic.add(name)
        return name

    def run(self, name: str, with_value: bool, as_tuple: bool) -> Function:
        function = self.function
        forward = [s for s in function.body if not isinstance(s, ast.Return)]
        output = function.output
        if isinstance(output, ast.Name) and output.id in function.active:
            self.accumulate(output.id, 1.0, grad_of=None)
        for statement in reversed(forward):
            self.differentiate(statement)
        gradients = [ast.Name(self.namer.adjoint(p), ast.Load()) if p in self.written
                     else ast.Constant(0.0) for p in function.wrt]
        if len(gradients) == 1 and not as_tuple:
            result = gradients[0]
        else:
            result = ast.Tuple(gradients, ast.Load())
        if with_value:
            result = ast.Tuple([output, result], ast.Load())
        body = forward + self.backward + [ast.Return(result)]
        return function.replace(name=name, body=body)

    def differentiate(self, statement: ast.Assign) -> None:
        target = statement.targets[0].id
        if target not in self.function.active or target not in self.written:
            return  # inactive, or its adjoint is zero
        adjoint = Code.name(self.adjoint(target))
        value = statement.value
        if isinstance(value, ast.Name):  # a copy passes its adjoint on unchanged
            self.accumulate(value.id, adjoint, statement)
            return
        rule = rule_of(value)
        if rule is None:
            return
        atoms = arguments(value)
        partials = rule.partials_at(tuple(wrap(a) for a in atoms), Code.name(target))
        for atom, partial in zip(atoms, partials):
            if isinstance(atom, ast.Name) and atom.id in self.function.active:
                self.accumulate(atom.id, mul(adjoint, partial), statement)

    def accumulate(self, variable: str, contribution, grad_of) -> None:
        if isinstance(contribution, (int, float)) and contribution == 0 and grad_of:
            return
        target = ast.Name(self.adjoint(variable), ast.Store())
        if variable in self.written:
            subtracted = negated(contribution)
            if subtracted is not None:  # b -= e reads better than b += -(e)
                statement = ast.AugAssign(target, ast.Sub(), node_of(subtracted))
            else:
                statement = ast.AugAssign(target, ast.Add(), node_of(contribution))
        else:
            statement = ast.Assign([target], node_of(contribution))
            self.written.add(variable)
        if grad_of is not None:
            set_anno(statement, "grad_of", ast.unparse(grad_of))
        self.backward.append(statement)
