"""Stage 6 in forward mode, tangent: the Jacobian-vector product.

Contract: takes the same analysed three-address ``ir.Function`` as ``reverse`` (no
statement reads its own target) and returns a function of the primal's parameters
followed by one tangent per ``wrt`` parameter (``d_x``), returning the primal's value
and its directional derivative. After each assignment ``y = op(a, b)`` to an active
variable it writes ``d_y = ∂op/∂a * d_a + ∂op/∂b * d_b``, the partials taken from the
same rule table as reverse mode (``srcdiff.rules``), evaluated at the values the
statement just read (the statement did not change them). NumPy's array functions
contribute what their forward rule gives (``ArrayRule.jvp`` in ``srcdiff.array_rules``):
linear functions applied to the tangents, products summed over their arguments.

Forward mode needs no tape: tangents travel with the values, in program order, through
loops and branches as they are. Every assignment to an active variable sets its tangent,
to zero when what it assigns does not depend on ``wrt``; an active parameter that is not
differentiated starts at zero.

>>> import math
>>> def h(x):
...     f = x ** 2
...     g = math.log(f)
...     return g + 1
>>> from srcdiff.parse import parse
>>> from srcdiff.normalize import normalize
>>> from srcdiff.lower import lower
>>> from srcdiff.analyse import analyse
>>> print(tangent(analyse(lower(normalize(parse(h))), ("x",)), "jvp_h").source())
def jvp_h(x, d_x):
    f = x ** 2
    d_f = 2 * x * d_x
    g = math.log(f)
    d_g = d_f / f
    h = g + 1
    d_h = d_g
    return (h, __tangent__(d_h, h))
"""

from __future__ import annotations

import ast
import copy
from typing import TYPE_CHECKING, Any, Callable, NoReturn, TypeGuard, cast

from .adjoints import _differentiable_nodes, recursive_function
from .analyse import RECURSIVE, arguments, bind, is_array_rule, rule_of
from .errors import KindError, UnsupportedSyntaxError, located
from .expr import Code, Value, add, array_mode, call, div, mul, node_of, sub, wrap
from .ir import Function, copy_tree, get_anno, name_id, set_anno, walk_code
from .kinds import SCALAR
from .reverse import _certainly_float, _float_variables

if TYPE_CHECKING:
    from .array_rules import JVP, ArrayRule
    from .errors import LocatedError
    from .parse import Parsed

TANGENT = "__tangent__"  # marks the returned tangent until ``finish_tangent`` gives its form


def tangent(function: Function, name: str, with_value: bool = True) -> Function:
    """``with_value``: return ``(value, tangent)``; else the tangent alone (what a
    Hessian-vector product differentiates again, in reverse mode)."""
    return Tangent(function).run(name, with_value)


class Tangent:
    def __init__(self, function: Function) -> None:
        self.function = function
        self.namer = function.namer
        self.active = set(function.active)
        self.kinds = function.kinds
        args = function.args
        self.parameters = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        self.jvps: dict[tuple[Any, ...], str] = {}  # (callee, wrt, kinds) -> the name its Jacobian-vector function has

    def is_array(self, variable: str) -> bool:
        return self.kinds.get(variable, SCALAR).is_array

    def d(self, variable: str) -> str:
        name = self.namer.tangent(variable)
        self.function.synthetic.add(name)
        return name

    def where(self, node: ast.AST) -> Parsed:
        return cast("Parsed", get_anno(node, "where", self.function.parsed))

    def refuse(self, node: ast.AST, message: str, hint: str | None = None,
               cls: type[LocatedError] = UnsupportedSyntaxError) -> NoReturn:
        raise located(cls, message, node, self.where(node), hint=hint)

    # -- the whole function ----------------------------------------------------------
    def run(self, name: str, with_value: bool = True) -> Function:
        function = self.function
        body = [s for s in function.body if not isinstance(s, ast.Return)]
        tangents = [self.d(p) for p in function.wrt]
        prelude = []
        for parameter in self.parameters:
            if parameter in self.active and parameter not in function.wrt:
                prelude.append(self.zero(parameter))
        body = prelude + self.block(body)
        output = function.output
        marked: ast.expr
        if isinstance(output, ast.Tuple):  # several outputs: the tuple of their tangents
            marked = ast.Tuple([self.marked(e) for e in output.elts], ast.Load())
        else:
            marked = self.marked(output)
        returned = ast.Return(ast.Tuple([copy_tree(output), marked], ast.Load())
                              if with_value else marked)
        args = ast.arguments(
            posonlyargs=[], args=[ast.arg(p) for p in self.parameters + tangents], vararg=None,
            kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
        return function.replace(name=name, args=args, body=body + [returned])

    def marked(self, output: ast.expr) -> ast.Call:
        """The tangent returned for ``output`` (an atom), marked ``__tangent__(d_y, y)``
        until ``finish_tangent`` gives it its final form (zero for an inactive one)."""
        result: ast.expr
        if isinstance(output, ast.Name) and output.id in self.active:
            result = ast.Name(self.d(output.id), ast.Load())
        else:
            result = ast.Constant(0.0)
        return ast.Call(ast.Name(TANGENT, ast.Load()), [result, copy_tree(output)], [])

    def block(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        result: list[ast.stmt] = []
        for statement in statements:
            if isinstance(statement, ast.If):
                statement = copy.copy(statement)
                statement.body, statement.orelse = self.block(statement.body), self.block(statement.orelse)
                result.append(statement)
            elif isinstance(statement, (ast.For, ast.While)):
                # A loop variable that the body makes active (``c = f(x)`` after ``for c
                # in COEFFS``) is bound to a constant at each iteration (``analyse``
                # refuses iterating over active values): its tangent starts at zero there.
                fresh = [self.zero(node.id) for node in walk_code(statement.target)
                         if isinstance(node, ast.Name) and node.id in self.active] \
                    if isinstance(statement, ast.For) else []
                statement = copy.copy(statement)
                statement.body = fresh + self.block(statement.body)
                statement.orelse = self.block(statement.orelse)
                result.append(statement)
            elif self.is_active_recursion(statement):
                result.append(self.recursive_call(statement))
            elif self.is_active_copy(statement):
                # ``y = t``: ``d_y = d_t`` reads no value, so it goes first; then, where
                # ``t``'s tangent read the old ``y`` (``t = y + ...`` in a loop), the
                # ``fuse`` pass can still write it into ``d_y = ...``
                result += self.statement(statement)
                result.append(statement)
            else:
                result.append(statement)
                result += self.statement(statement)
        return result

    def is_active_copy(self, statement: ast.stmt) -> bool:
        return isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) \
            and statement.targets[0].id in self.active and isinstance(statement.value, ast.Name) \
            and statement.value.id in self.active

    def is_active_recursion(self, statement: ast.stmt) -> TypeGuard[ast.Assign]:
        return isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call) \
            and get_anno(statement.value, "recursive") is not None \
            and isinstance(statement.targets[0], ast.Name) \
            and statement.targets[0].id in self.active and any(
                isinstance(a, ast.Name) and a.id in self.active for a in statement.value.args)

    def recursive_call(self, statement: ast.Assign) -> ast.stmt:
        """``y = f(a, b)`` with f recursive and ``a`` active: ``y, d_y = f_jvp(a, b, d_a)``,
        the callee's own generated Jacobian-vector function (value and tangent in one
        call: computing the value apart would double the work at every level)."""
        value = cast(ast.Call, statement.value)  # a call of a recursive function
        name, active = cast("tuple[str, list[int]]", recursive_function(  # an active argument: not None
            self.function, value, self.active, self.kinds, self.jvps, "forward"))
        target = name_id(statement.targets[0])
        call_ = ast.Call(ast.Name(name, ast.Load()),
                         [copy_tree(a) for a in value.args]
                         + [node_of(self.tangent_of(value.args[i])) for i in active], [])
        pair = ast.Tuple([ast.Name(target, ast.Store()), ast.Name(self.d(target), ast.Store())],
                         ast.Store())
        new = ast.Assign([pair], call_)
        if get_anno(statement, "where") is not None:
            set_anno(new, "where", get_anno(statement, "where"))
        return ast.copy_location(new, statement)

    # -- one statement ---------------------------------------------------------------
    def zero(self, variable: str) -> ast.stmt:
        """``d_y = 0.0``, or an array of zeros like ``y``."""
        value = zeros_like(variable) if self.is_array(variable) else 0.0
        return ast.Assign([ast.Name(self.d(variable), ast.Store())], node_of(value))

    def tangent_of(self, node: ast.expr) -> Value:
        """The tangent of an atom: its variable's ``d_`` name, or zero (a number of the
        atom's shape: 0.0 for numbers, zeros like it for arrays)."""
        if isinstance(node, ast.Name) and node.id in self.active:
            return Code.name(self.d(node.id))
        if isinstance(node, ast.Name) and self.is_array(node.id):
            return zeros_like(node.id)
        return 0.0

    def statement(self, statement: ast.stmt) -> list[ast.stmt]:
        if not isinstance(statement, ast.Assign):
            return []
        target_node = statement.targets[0]
        if not isinstance(target_node, ast.Name):
            for node in walk_code(target_node):
                if isinstance(node, ast.Name) and node.id in self.active:
                    self.refuse(statement, f"forward mode: `{node.id}` is unpacked from a "
                                "value that carries a derivative", "assign the parts one by one")
            return []
        target = target_node.id
        if target not in self.active:
            return []
        value = statement.value
        expression = self.expression(statement, target, value)
        if expression is None:
            return [self.zero(target)]
        return [ast.Assign([ast.Name(self.d(target), ast.Store())], node_of(expression))]

    def expression(self, statement: ast.Assign, target: str, value: ast.expr) -> Value | None:
        """The tangent of ``target = value``, as code; None when it is zero."""
        if isinstance(value, ast.Name):
            return self.tangent_of(value) if value.id in self.active else None
        rule = rule_of(value)
        if rule is None:
            return None
        if rule is RECURSIVE:  # with no active argument (``block`` took the others)
            return None
        if is_array_rule(rule):
            return self.array_rule(statement, rule, target, value)
        atoms = arguments(value)
        active = [a for a in atoms if isinstance(a, ast.Name) and a.id in self.active]
        if not active:
            return None
        arrays = [a.id for a in atoms if isinstance(a, ast.Name) and self.is_array(a.id)]
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Div) and len(active) == 2 \
                and not arrays and not self.is_array(target):
            # q = a / b: the rule's d_a / b - q / b * d_b, with one division instead of two
            a, b = atoms
            return div(sub(self.tangent_of(a), mul(Code.name(target), self.tangent_of(b))),
                       wrap(b))
        terms = None
        # the numbers among the operands, and their tangents (numbers too)
        numbers = {a.id for a in atoms if isinstance(a, ast.Name) and not self.is_array(a.id)}
        numbers |= {self.d(n) for n in numbers if n in self.active}
        like = Code.name(target) if self.is_array(target) else None
        with array_mode(bool(arrays) or self.is_array(target), numbers, like,
                        helpers=self.helper):
            partials = rule.partials_at(tuple(wrap(a) for a in atoms), Code.name(target))
            for atom, partial in zip(atoms, partials):
                if isinstance(atom, ast.Name) and atom.id in self.active:
                    term = mul(partial, self.tangent_of(atom))
                    terms = term if terms is None else add(terms, term)
            if terms is None or (isinstance(terms, (int, float)) and terms == 0):
                return None
            if self.is_array(target) and not (len(arrays) == 1 and arrays[0] in
                                               {a.id for a in active}):
                # the terms may not have the result's shape (a number's tangent added
                # to an array): give it (broadcast_like, whose kind is its ``like``'s: code
                # differentiated again knows the tangent's rank)
                terms = Code(ast.Call(self.helper("broadcast_like").node,
                                      [node_of(terms), ast.Name(target, ast.Load())], []))
        return terms

    def array_rule(self, statement: ast.Assign, rule: ArrayRule, target: str,
                   value: ast.expr) -> Value | None:
        from .analyse import argument_kinds
        from .array_rules import JVP, RuleUseError, index_value
        if isinstance(value, ast.BinOp):
            arguments_ = dict(zip(rule.params, [value.left, value.right]))
        elif isinstance(value, ast.Subscript):
            arguments_ = {"array": value.value, "index": value.slice}
        else:
            arguments_ = bind(rule, cast(ast.Call, value)).arguments
        differentiable = _differentiable_nodes(rule, arguments_)
        if not any(isinstance(n, ast.Name) and n.id in self.active
                   for node in differentiable for n in walk_code(node)):
            return None
        how = rule.jvp
        if how is None:
            self.refuse(statement, f"forward mode does not differentiate {rule.name} yet",
                        "use reverse mode (srcdiff.grad)", cls=KindError)
        if how in ("linear", "multilinear"):
            return self.substituted(value, rule, arguments_, how, self.indexed(rule, arguments_))
        of = lambda node: self.kinds.get(node.id, SCALAR) if isinstance(node, ast.Name) else SCALAR
        kinds = argument_kinds(rule, arguments_, of)
        if isinstance(value, ast.Subscript):
            arguments_["index"] = index_value(value.slice)
        tangents = {name: self.tangent_of(node) for name, node in arguments_.items()
                    if name in rule.wrt}
        context = JVP(rule, arguments_, kinds, tangents, Code.name(target), self.helper,
                      self.active)
        try:
            with array_mode():
                return cast("Callable[[JVP], Value]", how)(context)
        except RuleUseError as error:
            raise located(KindError, str(error), statement, self.where(statement)) from None

    def helper(self, name: str) -> Code:
        from .array_rules import helper_name
        return Code.name(helper_name(self.function, name))

    def indexed(self, rule: ArrayRule, arguments_: dict[str, ast.expr]) -> ast.expr | None:
        """The argument of ``x[i]`` or ``set_item(x, i, v)`` (``x[i] = v``) whose tangent
        is indexed, where ``x`` is a number as the kinds see it (a NumPy scalar or a 0-d
        array, as ``numpy.zeros_like(a)`` of a number ``a`` is): its tangent may be the
        plain zero ``0.0`` (or a Python float), which cannot be indexed nor written into."""
        from .array_rules import GETITEM, SET_ITEM
        node = arguments_.get("array")
        if (rule is GETITEM or rule is SET_ITEM) and isinstance(node, ast.Name) \
                and not self.is_array(node.id):
            return node
        return None

    def substituted(self, value: ast.expr, rule: ArrayRule, arguments_: dict[str, ast.expr],
                    how: str, indexed: ast.expr | None = None) -> Value | None:
        """A linear function applied to the tangents of its differentiable arguments
        (zeros for the others); a multilinear one summed over its arguments, each
        replaced by its tangent in turn. ``indexed``: the argument whose tangent is
        indexed though the kinds take it for a number (``Tangent.indexed``): its tangent
        is made the array NumPy would index, ``numpy.asarray(d_x)[i]``, which is what
        ``x[i]`` does to a NumPy scalar or a 0-d array ``x`` (same values, same shape)."""

        def tangent(leaf: ast.expr) -> ast.expr:
            result = self.tangent_of(leaf)
            if leaf is indexed:
                result = call("numpy.asarray", result)
            return node_of(result)
        leaves = []  # the differentiable atoms, each a replaceable position

        def collect(node: ast.expr) -> None:
            if isinstance(node, (ast.List, ast.Tuple)):
                for element in node.elts:
                    collect(element)
            else:
                leaves.append(node)
        for name, node in arguments_.items():
            if name in rule.wrt or name == rule.sequence:
                collect(node)
        if how == "linear":
            replacements = {id(leaf): tangent(leaf) for leaf in leaves}
            return Code(_rebuild(value, replacements))
        total: Value | None = None
        for leaf in leaves:
            if isinstance(leaf, ast.Name) and leaf.id in self.active:
                term = Code(_rebuild(value, {id(leaf): tangent(leaf)}))
                total = term if total is None else add(total, term)
        return total


def zeros_like(variable: str) -> Code:
    """The zero tangent of the array ``variable``: zeros of its shape and dtype, so that
    a float32 array's zero promotes nothing (``numpy.zeros`` is float64). An integer
    array's zero tangent is integer zeros: what it adds to or multiplies a float changes
    nothing, as NumPy promotes the primal (numba compiles this; not ``result_type``)."""
    return call("numpy.zeros_like", Code.name(variable))


def _rebuild(node: Any, replacements: dict[int, ast.expr]) -> Any:
    """A copy of ``node`` with the subtrees whose ids ``replacements`` has replaced."""
    if id(node) in replacements:
        return copy_tree(replacements[id(node)])
    if not isinstance(node, ast.AST):
        return node
    new = copy.copy(node)
    for field, old in ast.iter_fields(node):
        if isinstance(old, list):
            setattr(new, field, [_rebuild(item, replacements) for item in old])
        elif isinstance(old, ast.AST):
            setattr(new, field, _rebuild(old, replacements))
    return new


def finish_tangent(function: Function) -> Function:
    """The returned ``__tangent__(d_y, y)`` in its final form: a float for a number (in
    code that may hold NumPy values, ``number_like(d_y, y)``: a NumPy scalar of ``y``'s
    dtype for a float32 ``y``), an array of ``y``'s shape of its own for an array."""
    from .adjoints import _may_hold_numpy
    from .array_rules import helper_name
    returned: Any = function.body[-1]  # the Return that Tangent.run built
    # (value, tangent); a tangent alone is one call (several outputs need the value)
    with_value = isinstance(returned.value, ast.Tuple)
    value, marked = returned.value.elts if with_value else (None, returned.value)
    numpy_values = _may_hold_numpy(function)
    found: list[set[str]] = []

    def floats() -> set[str]:  # the variables certainly floats, found once if asked
        if not found:
            found.append(_float_variables(function.body, function))
        return found[0]

    def final(marked: ast.expr) -> ast.expr:
        tangent_, like = cast(ast.Call, marked).args
        kind = function.kinds.get(like.id, SCALAR) if isinstance(like, ast.Name) else SCALAR
        if kind.is_array:
            helper = ast.Name(helper_name(function, "tangent_like"), ast.Load())
            return ast.Call(helper, [tangent_, like], [])
        if numpy_values:
            helper = ast.Name(helper_name(function, "number_like"), ast.Load())
            return ast.Call(helper, [tangent_, like], [])
        if isinstance(tangent_, ast.Constant):
            return ast.Constant(float(cast(float, tangent_.value)))  # a number
        if _certainly_float(tangent_, floats(), function):
            return tangent_  # (and hvp's forward sweep drops it: arithmetic, never read)
        from .expr import runtime_name
        return ast.Call(runtime_name("float"), [tangent_], [])
    # several outputs: a tuple of marked tangents
    done = ast.Tuple([final(m) for m in marked.elts], ast.Load()) \
        if isinstance(marked, ast.Tuple) else final(marked)
    # with a value, value is its node
    new = ast.Return(ast.Tuple([cast(ast.expr, value), done], ast.Load()) if with_value
                     else done)
    return function.replace(body=function.body[:-1] + [new])
