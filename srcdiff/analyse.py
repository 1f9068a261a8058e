"""Stage 5, analyse: which variables carry derivatives.

Contract: takes a three-address ``ir.Function`` and the names of the parameters to
differentiate (``wrt``) and returns it with ``active`` set: the variables that both
depend on a ``wrt`` parameter through differentiable primitives (*varied*) and reach the
returned value (*useful*). Only active variables get adjoints. Results of comparisons
and of non-differentiable primitives (``floor``, ``//``...) are never varied.

>>> import math
>>> def f(x, y):
...     n = math.floor(x)
...     z = x * y
...     unused = math.exp(x)
...     return z + n
>>> from srcdiff.parse import parse
>>> from srcdiff.normalize import normalize
>>> from srcdiff.lower import lower
>>> sorted(analyse(lower(normalize(parse(f))), wrt=("x",)).active)
['f', 'x', 'z']
"""

from __future__ import annotations

import ast

from .errors import InternalError, UnsupportedSyntaxError, located
from .ir import Function, get_anno
from .lower import is_atom
from .rules import BINARY_OPERATORS, RULES, TOTAL, UNARY_OPERATORS, Rule


def analyse(function: Function, wrt: tuple[str, ...]) -> Function:
    """Activity, flow-insensitively: a fixed point over every assignment, at any depth
    (inside loops a variable may be assigned after it is read). Conservative: it may
    call a variable active that is not, never the reverse."""
    statements = [n for s in function.body for n in ast.walk(s) if isinstance(n, ast.stmt)]
    assignments = [s for s in statements if isinstance(s, ast.Assign)]
    # The def-use graph of differentiable assignments: target -> operands, and back.
    reads: dict[str, set[str]] = {}
    readers: dict[str, set[str]] = {}
    for statement in assignments:
        if differentiable(statement.value):
            target = statement.targets[0].id
            for operand in operands(statement.value):
                reads.setdefault(target, set()).add(operand)
                readers.setdefault(operand, set()).add(target)
    varied = _reachable(set(wrt), readers)
    for statement in assignments:
        if isinstance(statement.value, (ast.Tuple, ast.List)) and \
                operands(statement.value) & varied:
            raise located(UnsupportedSyntaxError, "lists and tuples holding values that "
                          f"depend on {', '.join(wrt)} are not supported yet", statement,
                          get_anno(statement, "where", function.parsed), hint="keep such values in separate variables")
    for loop in statements:
        if isinstance(loop, ast.For) and operands(loop.iter) & varied:
            raise located(UnsupportedSyntaxError, "iterating over values that depend on "
                          f"{', '.join(wrt)} is not supported yet", loop,
                          get_anno(loop, "where", function.parsed),
                          hint="loop over range(len(...)) of a sequence of constants, or "
                          "write the terms out")
    output = {function.output.id} if isinstance(function.output, ast.Name) else set()
    useful = _reachable(output, reads)
    return function.replace(active=frozenset(varied & useful), wrt=tuple(wrt))


def _reachable(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, stack = set(start), list(start)
    while stack:
        for following in edges.get(stack.pop(), ()):
            if following not in seen:
                seen.add(following)
                stack.append(following)
    return seen


def operands(value: ast.expr) -> set[str]:
    """The variable names a primitive application reads."""
    if isinstance(value, ast.Name):
        return {value.id}
    if isinstance(value, ast.BinOp):
        nodes = [value.left, value.right]
    elif isinstance(value, ast.UnaryOp):
        nodes = [value.operand]
    elif isinstance(value, ast.Call):
        nodes = value.args
    elif isinstance(value, (ast.Tuple, ast.List)):
        nodes = value.elts
    elif isinstance(value, ast.Compare):
        nodes = [value.left, *value.comparators]
    else:
        nodes = []
    return {n.id for n in nodes if isinstance(n, ast.Name)}


def arguments(value: ast.expr) -> list[ast.expr]:
    """The atoms a primitive is applied to, in the order of its rule's parameters."""
    if isinstance(value, ast.BinOp):
        return [value.left, value.right]
    if isinstance(value, ast.UnaryOp):
        return [value.operand]
    if isinstance(value, ast.Call):
        return list(value.args)
    return []


def rule_of(value: ast.expr) -> Rule | None:
    """The derivative rule of a primitive application; None when it has no derivative."""
    if isinstance(value, ast.BinOp):
        return RULES.lookup(BINARY_OPERATORS[type(value.op).__name__], 2)
    if isinstance(value, ast.UnaryOp):
        return RULES.lookup(UNARY_OPERATORS.get(type(value.op).__name__), 1)
    if isinstance(value, ast.Call):
        callee = get_anno(value, "callee")
        if get_anno(value, "recursive") is not None:
            return RECURSIVE
        if RULES.is_nondifferentiable(callee):
            return None
        rule = RULES.lookup(callee, len(value.args))
        if rule is None:  # the fence refuses these; never treat one as constant
            raise InternalError(f"no rule for {ast.unparse(value)} got past the fence")
        return rule
    return None


# A recursive call: differentiated by a generated vector-Jacobian function, not a rule.
RECURSIVE = Rule(None, "recursive call", None, lambda *args: args, ())


def cannot_raise(value: ast.expr) -> bool:
    """Whether evaluating this right-hand side can never raise (so it may be dropped)."""
    if isinstance(value, (ast.Name, ast.Constant, ast.Compare)):
        return True
    if isinstance(value, ast.BinOp):
        return BINARY_OPERATORS[type(value.op).__name__] in TOTAL
    if isinstance(value, ast.UnaryOp):
        return UNARY_OPERATORS.get(type(value.op).__name__) in TOTAL
    if isinstance(value, ast.Call):
        callee = get_anno(value, "callee")
        return callee in TOTAL and not isinstance(callee, type)  # float("x") raises
    return False


def differentiable(value: ast.expr) -> bool:
    """Whether derivatives flow through this right-hand side (a copy, or a rule)."""
    return (is_atom(value) and isinstance(value, ast.Name)) or rule_of(value) is not None
