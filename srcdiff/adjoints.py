"""The adjoint of one assignment: what the backward sweep adds to each operand's adjoint.

For ``y = op(a, b)`` with adjoint ``b_y`` the backward sweep adds ``b_y * ∂op/∂a`` to
``b_a`` and ``b_y * ∂op/∂b`` to ``b_b``, the partials taken from the rule table
(``srcdiff.rules``) and evaluated as code. An array function contributes what its
vector-Jacobian rule (``srcdiff.array_rules``) gives; a recursive call calls the callee's
generated vector-Jacobian function. Nothing here decides *when* these statements run:
that is the sweep's (``srcdiff.reverse``), which guarantees that every value the
statements read holds, when they run, the value it had right after ``y = op(a, b)`` ran.

Conventions every statement here keeps:

* an adjoint holds a value of its variable's shape, or a plain zero standing for an
  all-zero array (the value it is initialised with before a loop or branch);
* an array adjoint is never updated in place (``b = b + e``, not ``b += e``): two
  adjoints may hold the very same array;
* a contribution that is identically zero (``copysign``'s second argument) is dropped,
  except for a temporary whose one contribution is assigned (it is then assigned zero).
"""

from __future__ import annotations

import ast
import itertools
import types
from collections.abc import Collection, Hashable
from typing import TYPE_CHECKING, Any, Protocol, cast

from .analyse import RECURSIVE, arguments, bind, is_array_rule, rule_of
from .errors import KindError, located
from .expr import Code, array_mode, call, mul, neg, negated, node_of, wrap
from .ir import Function, copy_tree, dump_key, get_anno, name_id, set_anno, unparse, walk_code
from .kinds import SCALAR, Kind

if TYPE_CHECKING:
    from .array_rules import ArrayRule
    from .expr import Value


class Available(Protocol):
    """Where ``Adjoints.statement`` finds the variable holding an expression the forward
    sweep computed (``reverse``'s ``_Available`` at a position)."""

    def get(self, key: Any) -> str | None: ...

    def __bool__(self) -> bool: ...



def _parameters(callee: types.FunctionType) -> tuple[str, ...]:
    code = callee.__code__
    return code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]


def recursive_function(function: Function, value: ast.Call, active: Collection[str],
                       kinds: dict[str, Kind], cache: dict[tuple[Any, ...], str],
                       mode: str) -> tuple[str, list[int]] | None:
    """For a recursive call ``value``: the name generated code calls the callee's
    generated vector-Jacobian (``mode="reverse"``: ``f_vjp``) or Jacobian-vector
    (``"forward"``: ``f_jvp``) function by, for the call's active arguments and array
    kinds (injected into ``function``'s closure once per ``cache`` key), and the
    positions of the active arguments; None when no argument is active."""
    from .pipeline import vjp_cell
    callee = get_anno(value, "callee")
    params = _parameters(callee)
    positions = [i for i, a in enumerate(value.args) if isinstance(a, ast.Name) and a.id in active]
    if not positions:
        return None
    wrt = tuple(params[i] for i in positions)
    array_kinds = {params[i]: kinds[a.id] for i, a in enumerate(value.args)
                   if isinstance(a, ast.Name) and kinds.get(a.id, SCALAR).is_array}
    key = (callee, wrt, tuple(sorted(array_kinds.items(), key=lambda item: item[0])))
    if key not in cache:
        kind = "jvp" if mode == "forward" else "vjp"  # the name's suffix and the origin
        name = function.namer.fresh(f"{callee.__name__}_{kind}")
        function.parsed.inject(name, vjp_cell(callee, wrt, array_kinds, mode=mode),
                               (kind, callee, wrt, array_kinds))
        cache[key] = name
    return cache[key], positions

class Adjoints:
    """State: ``written`` holds the variables whose adjoint the top-level backward sweep
    has assigned so far; ``placeholders`` those initialised to a plain ``0.0`` before a
    compound statement, and ``maybe_zero`` those whose adjoint may still hold that zero;
    ``local_temporaries`` the temporaries read once, in their own block, whose one
    contribution is assigned rather than accumulated."""

    def __init__(self, function: Function, active: set[str], local_temporaries: set[str]) -> None:
        self.function = function
        self.namer = function.namer
        self.active = active
        self.kinds = function.kinds
        self.local_temporaries = local_temporaries
        self.written: set[str] = set()
        self.placeholders: set[str] = set()
        # adjoints that may hold a plain zero where their variable is an array: the
        # placeholders, and what is assigned from one (b_y = b_t copies the zero)
        self.maybe_zero: set[str] = set()
        self.vjps: dict[tuple[Any, ...], str] = {}  # (callee, wrt, kinds) -> name of its vector-Jacobian function
        # NumPy returns 0-d arrays for numbers (numpy.where(c, 0.5, m)); an adjoint may hold
        # one, and b += e would change it in place, and every adjoint holding it
        self.in_place = not _may_hold_numpy(function)
        self.printed: dict[int, tuple[ast.AST, str]] = {}  # id -> (statement, its source)
        self.variable_of: dict[str, str] = {}  # adjoint -> variable (variables_of_adjoints)
        self.inverted = 0  # how many of the namer's adjoints variable_of holds

    def is_array(self, variable: str) -> bool:
        return self.kinds.get(variable, SCALAR).is_array

    def origin(self, statement: ast.AST) -> str:
        """``statement`` as source, for the ``grad_of`` of its backward statements:
        printed once, though several of them name it (no pass changes a primal
        statement while the backward sweep is written)."""
        found = self.printed.get(id(statement))
        if found is None or found[0] is not statement:
            found = self.printed[id(statement)] = (statement, unparse(statement))
        return found[1]

    def adjoint(self, variable: str) -> str:
        name = self.namer.adjoint(variable)
        self.function.synthetic.add(name)
        return name

    def helper(self, name: str) -> Code:
        from .array_rules import helper_name
        return Code.name(helper_name(self.function, name))

    # -- one statement ---------------------------------------------------------------
    def statement(self, statement: ast.stmt, top: bool, available: Available | None = None) -> list[ast.stmt]:
        """The backward statements of ``statement``. ``available.get(key)`` gives the
        variable holding an expression (``expression_key``) the forward sweep computed,
        valid when these statements run: partials read it instead of computing again."""
        if not isinstance(statement, ast.Assign):
            return []  # print(...), assert: no derivative
        target = name_id(statement.targets[0])
        if target not in self.active or (top and target not in self.written):
            return []  # inactive, or its adjoint is zero
        value = statement.value
        if isinstance(value, ast.Name) and value.id == target:
            return []  # y = y changes nothing
        adjoint = Code.name(self.adjoint(target))
        if isinstance(value, ast.Name):  # a copy passes its adjoint on unchanged
            return self.accumulate(value.id, adjoint, statement, top)
        rule = rule_of(value)
        if rule is None:
            return []
        if rule is RECURSIVE:
            return self.recursive_call(statement, adjoint, top)
        if is_array_rule(rule):
            return self.array_rule(statement, rule, adjoint, top)
        atoms = arguments(value)
        names = [a.id for a in atoms if isinstance(a, ast.Name)]
        if target in names:
            from .errors import InternalError
            raise InternalError(f"`{ast.unparse(statement)}` reads its own target "
                                "(lower splits these)")
        if not any(n in self.active for n in names):
            return []  # t = 0.0 ** 0.07 in a branch: constants only, whose partials would
            # be folded to numbers now (0.0 ** -0.93 raises)
        arrays = {n for n in names if self.is_array(n)}
        result: list[ast.stmt] = []
        if len(arrays) > 1 and self.is_array(target) and (not top or target in self.maybe_zero):
            # The operands broadcast: 0.0 times a partial has the partial's shape, not the
            # result's, which unbroadcast cannot sum back to the other operand's (campaign
            # arrays seed 650538: a (2, 1) column times a (3,) row in an untaken branch).
            adjoint = self.shaped(statement, adjoint, result)
        with array_mode(bool(arrays) or self.is_array(target), set(names) - arrays,
                        helpers=self.helper):
            partials = rule.partials_at(tuple(wrap(a) for a in atoms), Code.name(target))
            for atom, partial in zip(atoms, partials):
                if isinstance(atom, ast.Name) and atom.id in self.active:
                    contribution = mul(adjoint, _reuse(partial, available))
                    if self.is_array(target) and not _is_zero(contribution):
                        contribution = self.unbroadcast(contribution, atom.id, arrays)
                    result += self.accumulate(atom.id, contribution, statement, top)
        return result

    def shaped(self, statement: ast.Assign, adjoint: Code, result: list[ast.stmt]) -> Code:
        """The adjoint of ``statement``'s target with the target's shape, by a statement
        appended to ``result``: it may still be the 0.0 (or 1.0) it was initialised with.
        ``broadcast_like``, not ``numpy.broadcast_to``, which makes a float64 array of a
        Python float (and so of every adjoint computed from it, float32 ones too)."""
        target = name_id(statement.targets[0])
        shaped = self.namer.fresh(self.adjoint(target) + "_full")
        self.function.synthetic.add(shaped)
        result.append(ast.Assign([ast.Name(shaped, ast.Store())], ast.Call(
            self.helper("broadcast_like").node, [node_of(adjoint), ast.Name(target, ast.Load())],
            [])))
        set_anno(result[-1], "grad_of", self.origin(statement))
        return Code.name(shaped)

    def unbroadcast(self, contribution: Value, operand: str, arrays: set[str]) -> Value:
        """An elementwise result's adjoint, summed back to the shape of ``operand``: all
        of it for a number, the broadcast axes for an array another operand stretched.
        A negation is summed first and negated after (``b = b - unbroadcast(g, x)``, not
        ``b + unbroadcast(-g, x)``): one pass over the small result instead of one over
        the large one, and the same numbers (rounding is symmetric about zero)."""
        inner = negated(contribution)
        if inner is not None and (operand not in arrays or arrays - {operand}):
            return neg(self.unbroadcast(inner, operand, arrays))
        if operand not in arrays:
            return call("numpy.sum", contribution)
        if arrays - {operand}:
            return Code(ast.Call(self.helper("unbroadcast").node,
                                 [node_of(contribution), ast.Name(operand, ast.Load())], []))
        return contribution

    def array_rule(self, statement: ast.Assign, rule: ArrayRule, adjoint: Code, top: bool) -> list[ast.stmt]:
        """``y = f(a, ...)`` with a vector-Jacobian rule: each differentiable argument's
        adjoint accumulates the rule's contribution."""
        from .analyse import argument_kinds
        from .array_rules import VJP, RuleUseError, index_value
        target, value = name_id(statement.targets[0]), statement.value
        if isinstance(value, ast.BinOp):
            arguments_ = dict(zip(rule.params, [value.left, value.right]))
        elif isinstance(value, ast.Subscript):
            arguments_ = {"array": value.value, "index": index_value(value.slice)}
        else:
            arguments_ = bind(rule, cast(ast.Call, value)).arguments
        if not any(isinstance(n, ast.Name) and n.id in self.active
                   for node in _differentiable_nodes(rule, arguments_) for n in walk_code(node)):
            return []
        of = lambda node: self.kinds.get(node.id, SCALAR) if isinstance(node, ast.Name) else SCALAR
        kinds = argument_kinds(rule, arguments_, of)
        g = adjoint
        result: list[ast.stmt] = []
        if rule.shaped and (not top or target in self.maybe_zero):
            g = self.shaped(statement, adjoint, result)
        vjp = VJP(rule, arguments_, kinds, g, Code.name(target), self.helper, self.active)
        try:
            with array_mode():
                contributions = rule.vjp(vjp)
        except RuleUseError as error:
            raise located(KindError, str(error), statement,
                          get_anno(statement, "where", self.function.parsed)) from None
        for key, contribution in contributions.items():
            node = _argument_at(arguments_, key)
            if isinstance(node, ast.Name) and node.id in self.active:
                result += self.accumulate(node.id, contribution, statement, top)
        return result

    def recursive_call(self, statement: ast.Assign, adjoint: Code, top: bool) -> list[ast.stmt]:
        """``y = f(a, b)`` with f recursive: ``d_a, d_b = f_vjp(a, b, b_y)``, then the
        adjoints of the active arguments accumulate ``d_a``, ``d_b``."""
        value = cast(ast.Call, statement.value)  # a call of a recursive function
        found = recursive_function(self.function, value, self.active, self.kinds, self.vjps,
                                   "reverse")
        if found is None:
            return []
        name, active = found
        params = _parameters(get_anno(value, "callee"))
        pieces = [self.namer.fresh(f"d_{params[i]}") for i in active]
        self.function.synthetic.update(pieces)
        unpack = ast.Tuple([ast.Name(p, ast.Store()) for p in pieces], ast.Store())
        vjp_call = ast.Call(ast.Name(name, ast.Load()),
                            [copy_tree(a) for a in value.args] + [node_of(adjoint)], [])
        result: list[ast.stmt] = [ast.Assign([unpack], vjp_call)]
        set_anno(result[0], "grad_of", self.origin(statement))
        for index, piece in zip(active, pieces):
            result += self.accumulate(name_id(value.args[index]), Code.name(piece), statement,
                                      top)
        return result

    # -- accumulation ------------------------------------------------------------------
    def accumulate(self, variable: str, contribution: Value, grad_of: ast.AST | None, top: bool) -> list[ast.stmt]:
        """``contribution`` added to ``variable``'s adjoint: assigned by the first
        contribution of the top-level sweep, and by a local temporary's one
        contribution; added otherwise."""
        target = ast.Name(self.adjoint(variable), ast.Store())
        local = not top and variable in self.local_temporaries
        if _is_zero(contribution) and grad_of is not None and not local:
            return []
        if isinstance(contribution, (int, float)):
            contribution = float(contribution)
        statement: ast.Assign | ast.AugAssign
        if local:
            statement = ast.Assign([target], node_of(contribution))  # its one contribution
        elif variable in self.written or not top:
            subtracted = negated(contribution)
            op, operand = (ast.Sub(), subtracted) if subtracted is not None else (ast.Add(), contribution)
            if self.is_array(variable) or not self.in_place:
                # b = b + e, never in place: b may be the very array another adjoint holds
                load = ast.Name(target.id, ast.Load())
                statement = ast.Assign([target], ast.BinOp(load, op, node_of(operand)))
            else:  # b -= e reads better than b += -(e)
                statement = ast.AugAssign(target, op, node_of(operand))
        else:
            statement = ast.Assign([target], node_of(contribution))
            self.written.add(variable)
        if top and not local and self._reads_maybe_zero(contribution):
            self.maybe_zero.add(variable)
        if grad_of is not None:
            set_anno(statement, "grad_of", self.origin(grad_of))
        return [statement]

    def initialise(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        """``b = 0.0`` for each adjoint a reversed compound statement uses before the
        top-level sweep has written it."""
        by_name = self.variables_of_adjoints()
        used = sorted({n.id for s in statements for n in walk_code(s)
                       if isinstance(n, ast.Name) and n.id in by_name})
        result: list[ast.stmt] = []
        for name in used:
            variable = by_name[name]
            if variable in self.local_temporaries or variable in self.written:
                continue
            self.written.add(variable)
            self.placeholders.add(variable)
            self.maybe_zero.add(variable)
            result.append(ast.Assign([ast.Name(name, ast.Store())], ast.Constant(0.0)))
        return result

    def _reads_maybe_zero(self, contribution: Value) -> bool:
        if not isinstance(contribution, Code) or not self.maybe_zero:
            return False
        # an adjoint of a variable that may hold zero (adjoint names are fresh: one each)
        variable_of = self.variables_of_adjoints()
        return any(isinstance(n, ast.Name) and variable_of.get(n.id, _NONE) in self.maybe_zero
                   for n in walk_code(contribution.node))

    def variables_of_adjoints(self) -> dict[str, str]:
        """The namer's adjoints inverted, adjoint name -> variable, brought up to date
        with the adjoints named since last asked (they are only ever added): inverting
        them all each time was quadratic in a body of many branches."""
        adjoints = self.namer.adjoints
        if self.inverted < len(adjoints):
            for variable, name in itertools.islice(adjoints.items(), self.inverted, None):
                self.variable_of[name] = variable
            self.inverted = len(adjoints)
        return self.variable_of


_NONE = object()  # no variable's


def _may_hold_numpy(function: Function) -> bool:
    """Whether a value of ``function`` may be a NumPy array: one of its variables is an
    array, or it calls a NumPy function (which may return a 0-d array for numbers)."""
    if any(kind.is_array for kind in function.kinds.values()):
        return True
    for node in walk_code(ast.Module(function.body, [])):
        if isinstance(node, ast.Call):
            module = getattr(get_anno(node, "callee"), "__module__", None) or ""
            callee = get_anno(node, "callee")
            if module.startswith("numpy") or type(callee).__name__ == "ufunc":
                return True
    return False


def _is_zero(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


def expression_key(node: ast.expr) -> Hashable | None:
    """A key under which equal primitive applications meet: the dump of the expression
    (``ir.dump_key``) with each call's function replaced by the object it calls (so
    ``np.cos(x)``, ``numpy.cos(x)`` and ``cos(x)`` after ``from numpy import cos``
    meet)."""
    if isinstance(node, ast.Call):
        callee = get_anno(node, "callee")
        if callee is None:
            callee = _dotted_object(node.func)
        if callee is None or node.keywords:
            return None
        arguments = []
        for argument in node.args:
            key = argument_key(argument)
            if key is None:
                return None
            arguments.append(key)
        return ("call", id(callee), tuple(arguments))
    return dump_key(node)


def argument_key(node: ast.expr) -> Hashable | None:
    if isinstance(node, (ast.Name, ast.Constant, ast.UnaryOp)):
        return dump_key(node)
    if isinstance(node, (ast.Call, ast.BinOp)):
        return expression_key(node)
    return None


def _dotted_object(func: ast.expr) -> Any:
    """The object ``math.cos`` or ``numpy.cos`` names in generated code."""
    import sys
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in ("math", "numpy"):
        return None
    value = sys.modules.get(func.id)
    for part in reversed(parts):
        value = getattr(value, part, None)
    return value


def _reuse(partial: Value, available: Available | None) -> Value:
    """``partial`` reading the variables that hold the subexpressions the forward sweep
    already computed (``math.cos(x)`` -> ``c`` after ``c = math.cos(x)``)."""
    if not isinstance(partial, Code) or not available:
        return partial
    return wrap(_reused(copy_tree(partial.node), available))


def _reused(node: Any, available: Available) -> Any:
    """``node`` (a copy, changed in place) with each subexpression the forward sweep
    computed replaced by its variable: an expression found as it is, else its operands
    first, then the expression of the variables put in their place (``math.exp(-(x * x))``
    -> ``e`` after ``s = x * x``, ``n = -s``, ``e = math.exp(n)``: each replacement reads a
    value available here, so the parent's new key is the key under which the forward
    sweep's three-address statement is available)."""
    expression = isinstance(node, ast.expr) and not isinstance(node, (ast.Name, ast.Constant))
    if expression:
        name = available.get(expression_key(node))
        if name is not None:
            return ast.Name(name, ast.Load())
    changed = False
    for field in node._fields:
        value = getattr(node, field, None)
        if isinstance(value, list):
            new = [_reused(item, available) if isinstance(item, ast.AST) else item
                   for item in value]
            changed = changed or any(a is not b for a, b in zip(new, value))
            value[:] = new
        elif isinstance(value, ast.AST):
            replaced = _reused(value, available)
            changed = changed or replaced is not value
            setattr(node, field, replaced)
    if expression and changed:
        name = available.get(expression_key(node))
        if name is not None:
            return ast.Name(name, ast.Load())
    return node


def _differentiable_nodes(rule: ArrayRule, arguments_: dict[str, ast.expr]) -> list[ast.expr]:
    nodes = []
    for name, node in arguments_.items():
        if name in rule.wrt or name == getattr(rule, "sequence", None):
            nodes.append(node)
    return nodes


def _argument_at(arguments_: dict[str, ast.expr], key: str | tuple[str, Any]) -> ast.expr | None:
    """The argument node a contribution is for: ``"a"``, or ``("arrays", 1)`` for an
    element of a list argument (a path of positions for nested lists)."""
    if not isinstance(key, tuple):
        return arguments_.get(key)
    node = arguments_.get(key[0])
    for position in key[1] if isinstance(key[1], tuple) else (key[1],):
        if not isinstance(node, (ast.List, ast.Tuple)):
            return None
        node = node.elts[position]
    return node
