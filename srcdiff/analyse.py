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
import copy
import math
import sys
from typing import TYPE_CHECKING, Any, Callable, Collection, cast

from .dataflow import names, statements_of, targets
from .errors import (InternalError, KindError, LocatedError, MissingRuleError,
                     UnsupportedSyntaxError, located)
from .expr import runtime_name
from .ir import COMPOUND, Function, get_anno, name_id, set_anno, walk_code
from .kinds import ANY_ARRAY, SCALAR, Kind, array, broadcast, data_kind, index_rank, join
from .lower import is_atom, is_literal
from .pure import is_pure, name_of, result_kind, sharing
from .rules import BINARY_OPERATORS, RULES, TOTAL, UNARY_OPERATORS, Rule

if TYPE_CHECKING:
    from typing_extensions import TypeIs

    from .array_rules import ArrayRule
    from .parse import Parsed


def is_array_rule(rule: object) -> TypeIs[ArrayRule]:
    """Whether ``rule`` is a vector-Jacobian rule of ``srcdiff.array_rules``."""
    return getattr(rule, "vjp", None) is not None


def getitem_rule() -> ArrayRule | None:
    """The rule of ``a[index]`` (NumPy's rules are loaded on first use); None without
    NumPy, where only tuples of constants can be indexed."""
    arrays = RULES.arrays()
    return arrays.GETITEM if arrays is not None else None


def output_names(output: ast.expr | None) -> list[str]:
    """The variables a function returns, in order (a tuple's: one per element that is a
    variable, twice for ``return a, a``; constants are not variables)."""
    elements = output.elts if isinstance(output, ast.Tuple) else [output]
    return [e.id for e in elements if isinstance(e, ast.Name)]


def analyse(function: Function, wrt: tuple[str, ...], kinds: dict[str, Kind] | None = None,
            array_output: bool = False) -> Function:
    """Activity, flow-insensitively: a fixed point over every assignment, at any depth
    (inside loops a variable may be assigned after it is read). Conservative: it may
    call a variable active that is not, never the reverse.

    ``kinds`` maps parameters to their kinds (``srcdiff.kinds``; default: numbers); the
    kinds of all variables are inferred from them and kept in ``Function.kinds``."""
    statements = statements_of(function.body)
    assignments = [s for s in statements if isinstance(s, ast.Assign)]
    variable_kinds = infer_kinds(function, kinds or {}, statements)
    check_indexed_numbers(function, variable_kinds, wrt)
    # The def-use graph of differentiable assignments: target -> operands, and back.
    reads: dict[str, set[str]] = {}
    readers: dict[str, set[str]] = {}
    for statement in assignments:
        if differentiable(statement.value):
            target = name_id(statement.targets[0])
            for operand in differentiable_operands(statement.value):
                reads.setdefault(target, set()).add(operand)
                readers.setdefault(operand, set()).add(target)
    varied = _reachable(set(wrt), readers)
    # an iterator over varied values (zip(x, y) assigned to a temporary, then iterated)
    # carries them: iterating over it is iterating over them
    iterators = ITERATORS + (list, tuple, sorted)
    carried, made_by_iterators = set(varied), set()
    changed = True
    while changed:
        changed = False
        for statement in assignments:
            value, target = statement.value, name_id(statement.targets[0])
            if target not in carried and isinstance(value, ast.Call) and get_anno(
                    value, "callee") in iterators and operands(value) & carried:
                carried.add(target)
                made_by_iterators.add(target)
                changed = True
    for opaque in statements:
        if isinstance(opaque, ast.Try):
            _check_opaque(opaque, varied, wrt, get_anno(opaque, "where", function.parsed))
    for statement in assignments:
        if isinstance(statement.value, (ast.Tuple, ast.List)) and \
                operands(statement.value) & varied:
            raise located(UnsupportedSyntaxError, "lists and tuples holding values that "
                          f"depend on {', '.join(wrt)} are not supported yet", statement,
                          get_anno(statement, "where", function.parsed), hint="keep such values in separate variables")
    local = {a.arg for a in function.args.posonlyargs + function.args.args +
             function.args.kwonlyargs} | {name_id(s.targets[0]) for s in assignments}
    for loop in statements:
        if isinstance(loop, ast.For) and operands(loop.iter) & carried:
            # every name iterated over, carried or not: zip(W, z) with W a number here is
            # not indexed (``iterate`` indexes loops over arrays only)
            iterated = [n for n in ([loop.iter] if isinstance(loop.iter, ast.Name) else
                                    loop.iter.args if isinstance(loop.iter, ast.Call) else [])
                        if isinstance(n, ast.Name)]
            if isinstance(loop.iter, ast.Call) and loop.iter.args and isinstance(
                    loop.iter.args[0], ast.Call):  # enumerate(zip(A, B)), kept nested
                iterated += [n for n in loop.iter.args[0].args if isinstance(n, ast.Name)]
            numbers = [n.id for n in iterated if not variable_kinds.get(n.id, SCALAR).is_array
                       and n.id not in made_by_iterators and n.id in local]
            if numbers:
                # a number cannot be iterated over: the function needs an array here
                # (``iterate`` loops over arrays by position)
                raise located(KindError, f"iterating over `{numbers[0]}`, which is a "
                              "number here", loop, get_anno(loop, "where", function.parsed),
                              hint="pass a NumPy array")
            refusal = located(UnsupportedSyntaxError, "iterating over values that depend "
                              f"on {', '.join(wrt)} is not supported yet", loop,
                              get_anno(loop, "where", function.parsed),
                              hint="loop over an array, or over range(len(...)) and index, "
                              "or write the terms out")
            arguments = function.args
            if any(not variable_kinds.get(a.arg, SCALAR).is_array for a in
                   arguments.posonlyargs + arguments.args + arguments.kwonlyargs):
                # taken for numbers (the gradient made at decoration): the loop may run
                # over arrays at the call, read by position there (``iterate``)
                setattr(refusal, "depends_on_kinds", True)
            raise refusal
    output = set(output_names(function.output))
    useful = _reachable(output, reads)
    active = varied & useful
    where: Callable[[ast.AST], Parsed] = lambda statement: get_anno(statement, "where", function.parsed)
    for statement in assignments:
        check_kinds(statement, variable_kinds, active, where(statement))
        check_value_arguments(statement, varied, where(statement))
        check_constant_calls(statement, varied, wrt, where(statement), function, reads)
    for name in output if not array_output else ():
        kind = variable_kinds.get(name)
        if kind is not None and kind.is_array and kind.ndim != 0:
            returned = next((s for s in function.body if isinstance(s, ast.Return)), None)
            if kind.ndim is None:  # an array of a shape srcdiff could not read
                raise located(KindError, f"srcdiff cannot tell that {function.name}() returns "
                              f"one number: what it returns is an array of a number of axes "
                              f"srcdiff could not infer ({kind}), made from a shape srcdiff "
                              "cannot count the axes of (np.zeros(s) of a tuple s, np.ones(n) "
                              "of a parameter n) or returned by a "
                              "function of constants whose rank srcdiff does not know "
                              "(np.sort(Y, axis=0), np.linalg.svd(A))",
                              returned or function.parsed.tree, function.parsed,
                              hint="write the shape where srcdiff can read it: "
                              "np.ones_like(y), a tuple (n, 1), or a literal size; or "
                              "reduce the array to a number (np.sum, an item [0])")
            raise located(KindError, f"{function.name}() returns an array ({kind}); a "
                          "gradient needs a function that returns one number",
                          returned or function.parsed.tree, function.parsed,
                          hint="return a number: a sum, a mean, a norm, or an item")
    body = _check_in_place(function, function.body, variable_kinds)
    if any(isinstance(s, ast.Try) for s in statements):
        mixed = {n for s in assignments if name_id(s.targets[0]) in active
                 for n in operands(s.value)}
        body = _guard_try_numbers(function, body, mixed, variable_kinds)
    return function.replace(body=body, active=frozenset(active), wrt=tuple(wrt),
                            kinds=variable_kinds)


def _guard_try_numbers(function: Function, body: list[ast.stmt], mixed: set[str],
                       kinds: dict[str, Kind]) -> list[ast.stmt]:
    """After each ``try``, for each name it assigns that a differentiated computation
    reads and that kinds take for a number: a test that it holds an int or a float when
    the function runs (``TypeError`` otherwise, naming it and where it is assigned). A
    ``try`` runs as written, so what it assigns is known only then; taken for a number,
    an array there would give a wrong derivative."""
    result: list[ast.stmt] = []
    for statement in body:
        if isinstance(statement, (ast.If, ast.For, ast.While)):
            statement = copy.copy(statement)
            statement.body = _guard_try_numbers(function, statement.body, mixed, kinds)
            statement.orelse = _guard_try_numbers(function, statement.orelse, mixed, kinds)
        result.append(statement)
        if not isinstance(statement, ast.Try):
            continue
        where = get_anno(statement, "where", function.parsed)
        users = get_anno(statement, "users", {})
        surely = get_anno(statement, "bound", None)
        for name in sorted(get_anno(statement, "writes", set()) & mixed):
            if kinds.get(name, SCALAR).is_array:
                continue
            if surely is not None and name not in surely:
                continue  # maybe unbound after it: reading it would raise first
            shown = users.get(name, name)
            message = ast.JoinedStr([ast.Constant(
                f"{where.filename}:{statement.lineno}: `{shown}`, assigned in this `try`, "
                "is a "), ast.FormattedValue(ast.Attribute(ast.Call(
                    runtime_name("type"), [ast.Name(name, ast.Load())], []), "__name__",
                    ast.Load()), -1, None), ast.Constant(
                " here; srcdiff takes what a `try` assigns for a number (an int or a "
                "float) where a derivative reads it")])
            test = ast.UnaryOp(ast.Not(), ast.Call(runtime_name("isinstance"), [
                ast.Name(name, ast.Load()), ast.Tuple([runtime_name("int"),
                                                        runtime_name("float")], ast.Load())],
                []))
            guard = ast.If(test, [ast.Raise(ast.Call(runtime_name("TypeError"), [message], []),
                                            None)], [])
            result.append(ast.copy_location(guard, statement))
    return result


def _check_opaque(statement: ast.Try, varied: set[str], wrt: Collection[str],
                  where: Parsed) -> None:
    """A ``try`` runs as written, a computation of constants: it may neither read nor
    assign a value that depends on a parameter differentiated with respect to."""
    touched = (get_anno(statement, "reads", set()) | get_anno(statement, "writes", set())) \
        & varied
    if not touched:
        return
    users = get_anno(statement, "users", {})
    found = [n for n in walk_code(_TryCode(statement)) if isinstance(n, ast.Name)
             and n.id in touched]
    first = min(found, key=lambda n: (n.lineno, n.col_offset)) if found else statement
    name = users.get(getattr(first, "id", None), None) or users[min(touched)]
    why = "is differentiated" if name in wrt else f"depends on {', '.join(wrt)}"
    raise located(UnsupportedSyntaxError, "`try` around differentiated values is not "
                  f"supported: `{name}` {why}", first, where,
                  hint="compute it outside the `try`: srcdiff runs a `try` as written, as "
                  "a computation of constants")


class _TryCode(ast.AST):
    """A ``try`` statement's own code, for ``walk_code`` to go into (it goes around a
    ``try`` otherwise); its handlers' names are strings, not name nodes."""

    _fields = ("body", "handlers", "orelse", "finalbody")

    def __init__(self, statement: ast.Try) -> None:
        super().__init__()
        self.body, self.handlers = statement.body, statement.handlers
        self.orelse, self.finalbody = statement.orelse, statement.finalbody


def _check_in_place(function: Function, statements: list[ast.stmt], kinds: dict[str, Kind]) -> list[ast.stmt]:
    """After each ``new = a op value`` that stands for ``a op= value`` on a variable that
    may be an array, ``in_place(a, new)``, and after each ``new = set_item(a, i, v)``,
    ``writable(a)``: they raise where NumPy's in-place change would (a read-only ``a``,
    a result that does not fit ``a``), as the function does."""
    result = []
    for statement in statements:
        if isinstance(statement, COMPOUND):
            statement = copy.copy(statement)
            statement.body = _check_in_place(function, statement.body, kinds)
            statement.orelse = _check_in_place(function, statement.orelse, kinds)
        result.append(statement)
        helper, updated = get_anno(statement, "updates", (None, None))
        if updated is not None and (kinds.get(updated) or SCALAR).is_array:
            from .array_rules import helper_name
            arguments: list[ast.expr] = [ast.Name(updated, ast.Load())]
            if helper == "in_place":
                arguments.append(ast.Name(name_id(cast(ast.Assign, statement).targets[0]), ast.Load()))
            check = ast.Call(ast.Name(helper_name(function, helper), ast.Load()), arguments, [])
            result.append(ast.copy_location(ast.Expr(check), statement))
    return result


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
    if isinstance(value, ast.Call):
        nodes = value.args + [k.value for k in value.keywords]
    elif isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Tuple, ast.List, ast.Compare,
                            ast.Subscript)):
        nodes = [value]
    else:
        return set()
    return {n.id for node in nodes for n in walk_code(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load) and n is not _module_of(node)}


def _module_of(node: ast.AST) -> ast.expr | None:
    """``numpy`` in ``numpy.s_[...]``: a module, not an operand."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
        return node.value.value
    return None


def differentiable_operands(value: ast.expr) -> set[str]:
    """The operands derivatives flow to: not indices, axes or shapes, nor an operand
    whose partial derivative is identically zero (``copysign``'s second argument)."""
    if isinstance(value, ast.Subscript):
        return operands(value.value)
    rule = rule_of(value) if isinstance(value, (ast.Call, ast.BinOp, ast.UnaryOp)) else None
    if is_array_rule(rule) and isinstance(value, ast.BinOp):
        return operands(value)  # a @ b
    if is_array_rule(rule):
        return {n.id for node in bind(rule, cast(ast.Call, value)).differentiable()
                for n in walk_code(node) if isinstance(n, ast.Name)}
    if isinstance(rule, Rule) and rule is not RECURSIVE:
        zero = rule.zero_partials()
        return {n.id for index, atom in enumerate(arguments(value)) if index not in zero
                for n in walk_code(atom) if isinstance(n, ast.Name)}
    return operands(value)


def bind(rule: ArrayRule, call: ast.Call) -> "Bound":
    """A call's arguments by the names of its array rule's parameters."""
    params = rule.params
    named = {}
    args = list(call.args)
    if rule.variadic:  # einsum(subscripts, *operands)
        named[params[0]] = args[0]
        named[params[1]] = ast.List(args[1:], ast.Load())
    else:
        named.update(zip(params, args))
    for keyword in call.keywords:
        named[cast(str, keyword.arg)] = keyword.value  # the fence refuses **kwargs
    return Bound(rule, named)


class Bound:
    def __init__(self, rule: ArrayRule, arguments: dict[str, ast.expr]) -> None:
        self.rule = rule
        self.arguments = arguments

    def differentiable(self) -> list[ast.expr]:
        """The argument nodes derivatives flow to (list elements for sequences)."""
        result: list[ast.expr] = []
        for name, node in self.arguments.items():
            if name == self.rule.sequence and isinstance(node, (ast.List, ast.Tuple)):
                result += [n for n in ast.walk(node) if isinstance(n, ast.Name)]
            elif name in self.rule.wrt or name == self.rule.sequence:
                result.append(node)
        return result


def arguments(value: ast.expr) -> list[ast.expr]:
    """The atoms a primitive is applied to, in the order of its rule's parameters."""
    if isinstance(value, ast.BinOp):
        return [value.left, value.right]
    if isinstance(value, ast.UnaryOp):
        return [value.operand]
    if isinstance(value, ast.Call):
        return list(value.args)
    return []


def rule_of(value: ast.expr) -> Rule | ArrayRule | None:
    """The derivative rule of a primitive application; None when it has no derivative."""
    if isinstance(value, ast.BinOp):
        return RULES.lookup(BINARY_OPERATORS[type(value.op).__name__], 2)
    if isinstance(value, ast.UnaryOp):
        return RULES.lookup(UNARY_OPERATORS.get(type(value.op).__name__), 1)
    if isinstance(value, ast.Subscript):
        return getitem_rule()
    if isinstance(value, ast.Call):
        callee = get_anno(value, "callee")
        if get_anno(value, "recursive") is not None:
            return RECURSIVE
        if RULES.is_nondifferentiable(callee):
            return None
        rule = RULES.lookup(callee, len(value.args))
        if rule is None and is_pure(callee):
            return None  # a constant: ``check_constant_calls`` refuses varied arguments
        if rule is None:  # the fence refuses these; never treat one as constant
            raise InternalError(f"no rule for {ast.unparse(value)} got past the fence")
        return rule
    return None


# A recursive call: differentiated by a generated vector-Jacobian function, not a rule.
RECURSIVE = Rule(None, "recursive call", None, lambda *args: args, ())


def cannot_raise(value: ast.expr, kinds: dict[str, Kind] | None = None) -> bool:
    """Whether evaluating this right-hand side can never raise (so it may be dropped, or
    moved out of a loop that may run no time). ``kinds``: the variables' kinds (None: all
    are numbers). On numbers, the primitives in ``TOTAL``. On arrays, NumPy reports a
    domain error as ``nan`` with a warning, not an exception, so arithmetic, comparisons
    and NumPy's elementwise functions of one array (with numbers) cannot raise, nor a
    sum or mean of it; two arrays may not broadcast together (``x + W`` with shapes (3,)
    and (2,)), and the truth value of an array raises (``not v``, ``max(v, 0.5)``)."""
    if isinstance(value, (ast.Name, ast.Constant)):
        return True
    if isinstance(value, ast.Compare) and _identity(value):
        return True
    arrays = _arrays_among(operands_of(value), kinds) if kinds else set()
    if arrays:
        return len(arrays) == 1 and _elementwise(value)
    if isinstance(value, ast.Compare):
        return True
    if isinstance(value, ast.BinOp):
        return BINARY_OPERATORS[type(value.op).__name__] in TOTAL
    if isinstance(value, ast.UnaryOp):
        return UNARY_OPERATORS.get(type(value.op).__name__) in TOTAL
    if isinstance(value, ast.Call):
        callee = get_anno(value, "callee")
        return callee in TOTAL and not isinstance(callee, type)  # float("x") raises
    return False


def operands_of(value: ast.expr) -> list[ast.expr]:
    """The atoms a primitive application combines: ``arguments``, with a comparison's
    operands and a call's keyword values."""
    if isinstance(value, ast.Compare):
        return [value.left, *value.comparators]
    if isinstance(value, ast.Call):
        return arguments(value) + [k.value for k in value.keywords]
    return arguments(value) or [value]


def _arrays_among(atoms: list[ast.expr], kinds: dict[str, Kind]) -> set[str]:
    """The variables among ``atoms`` that may be arrays of rank one or more (numbers and
    0-d arrays broadcast with anything)."""
    found = set()
    for atom in atoms:
        for node in walk_code(atom):
            if isinstance(node, ast.Name):
                kind = kinds.get(node.id) or SCALAR
                if kind.is_array and kind.ndim != 0:
                    found.add(node.id)
    return found


# Builtins that return an iterator: consumed by the first loop over it, so a value of one
# is never computed once for two loops (cse) and is not an array (kinds).
ITERATORS = (zip, enumerate, reversed, iter, map, filter)


def _identity(value: ast.Compare) -> bool:
    """``x is None``, ``x is not None``."""
    return any(isinstance(op, (ast.Is, ast.IsNot)) for op in value.ops)


_ELEMENTWISE_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


def _elementwise(value: ast.expr) -> bool:
    """An elementwise operation on one array (and numbers), or its sum or mean."""
    if isinstance(value, ast.BinOp):
        return isinstance(value.op, _ELEMENTWISE_OPERATORS)
    if isinstance(value, ast.UnaryOp):
        return isinstance(value.op, (ast.USub, ast.UAdd))
    if isinstance(value, ast.Compare):
        return all(isinstance(op, (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE))
                   for op in value.ops)
    if isinstance(value, ast.Call) and not value.keywords:
        callee = get_anno(value, "callee")
        rule = RULES.lookup(callee, len(value.args))
        module = (getattr(callee, "__module__", None) or "").split(".")[0]
        return (isinstance(rule, Rule) and module in ("numpy", "scipy")) or (
            getattr(rule, "name", None) in ("numpy.sum", "numpy.mean") and len(value.args) == 1)
    return False


def differentiable(value: ast.expr) -> bool:
    """Whether derivatives flow through this right-hand side (a copy, or a rule)."""
    return (is_atom(value) and isinstance(value, ast.Name)) or rule_of(value) is not None


# --------------------------------------------------------------------------------------
# Kinds
# --------------------------------------------------------------------------------------

# recursive_kind's answers (for one generation: pipeline clears them, as what a global
# holds may change between two), and its assumptions while a recursion's kinds are found
_RECURSIVE_KINDS: dict[tuple[object, tuple[Kind | None, ...]], Kind | None] = {}
_ASSUMED: dict[tuple[object, tuple[Kind | None, ...]], Kind | None] = {}


def recursive_kind(callee: object, arguments: list[Kind | None]) -> Kind:
    """The kind of what the recursive function ``callee`` returns given arguments of
    these kinds: its own body (parameters as parameters: no base case folded away)
    analysed, its recursive calls taken for what is assumed so far, from nothing up to
    a fixed point (kinds only grow: a number, an array of a rank, of unknown rank).
    Anything that goes wrong here (the callee refused: the generation of its
    vector-Jacobian function reports that) gives an array of unknown rank, for which
    generated code works whatever the value is."""
    key = (callee, tuple(arguments))
    if key in _RECURSIVE_KINDS:
        return _RECURSIVE_KINDS[key] or ANY_ARRAY
    if key in _ASSUMED:  # the recursion inside itself: what is assumed so far
        return _ASSUMED[key] or SCALAR
    _ASSUMED[key] = None
    try:
        from .lower import lower
        from .normalize import normalize
        from .fence import fence
        from .parse import parse
        lowered = lower(normalize(fence(parse(callee))))  # type: ignore[arg-type]
        args = lowered.args
        parameters = {a.arg: k for a, k in zip(args.posonlyargs + args.args, arguments)
                      if k is not None}
        for _ in range(8):  # a few rounds: each makes some kind larger, or ends
            kinds = infer_kinds(lowered, parameters)
            returned: Kind | None = None
            for statement in statements_of(lowered.body):
                if isinstance(statement, ast.Return) and statement.value is not None:
                    value = statement.value  # lower returns a name or a constant
                    found = kinds.get(value.id) if isinstance(value, ast.Name) else \
                        SCALAR if isinstance(value, ast.Constant) else ANY_ARRAY
                    returned = join(returned, found or ANY_ARRAY)
            if returned == _ASSUMED[key]:
                break
            _ASSUMED[key] = returned
        else:
            returned = ANY_ARRAY
    except Exception:  # refused, or anything else: the safe answer
        returned = ANY_ARRAY
    finally:
        assumed = _ASSUMED.pop(key, None)
    result = returned or assumed or ANY_ARRAY
    _RECURSIVE_KINDS[key] = result
    return result


def infer_kinds(function: Function, parameters: dict[str, Kind],
                statements: list[ast.stmt] | None = None) -> dict[str, Kind]:
    """Every variable's kind, from the parameters' (numbers by default), to a fixed point
    over all assignments and loop targets (a variable holding a number in one place and
    an array in another is an array)."""
    if statements is None:
        statements = statements_of(function.body)
    args = function.args
    kinds: dict[str, Kind] = {a.arg: parameters.get(a.arg, SCALAR)
                              for a in args.posonlyargs + args.args + args.kwonlyargs}
    parsed = function.parsed

    def of(node: ast.expr) -> Kind | None:
        if isinstance(node, ast.Name):
            if node.id in kinds:
                return kinds[node.id]
            if node.id in assigned:
                return None  # not known yet
            # a free name: a global or closure value, read as data
            kinds[node.id] = data_kind(parsed.lookup(node.id)) or SCALAR
            return kinds[node.id]
        if isinstance(node, ast.Attribute):  # math.pi, numpy.newaxis
            return data_kind(parsed.resolve(node)) or SCALAR
        return kind_of(node, of)

    assigned = {name for s in function.body for name in names(s)[1]}
    _mark_number_shapes(function, statements, dict(kinds))
    changed = True
    while changed:
        changed = False
        for statement in statements:
            if isinstance(statement, ast.Assign):
                updates = [(name_id(statement.targets[0]), of(statement.value))]
            elif isinstance(statement, ast.For):
                element = _element_kind(statement.iter, of)
                if isinstance(statement.target, ast.Tuple):  # for a, b in pairs
                    element = None if element is None else index_rank(element, ast.Constant(0), of)
                updates = [(n.id, element)
                           for n in walk_code(statement.target) if isinstance(n, ast.Name)]
            elif isinstance(statement, ast.Try):  # run as written: taken for numbers
                updates = [(name, SCALAR) for name in get_anno(statement, "writes", ())]
            else:
                continue
            for name, kind in updates:
                if kind is None:
                    continue
                new = join(kinds.get(name), kind)
                if new != kinds.get(name):
                    kinds[name] = new
                    changed = True
        if not changed:
            # a pure function's call whose arguments' kinds were never known: an array
            # of unknown rank (taken for a number, the default, it could be wrong)
            unknown = [name_id(s.targets[0]) for s in statements if isinstance(s, ast.Assign)
                       and name_id(s.targets[0]) not in kinds and _constant_call(s.value)]
            kinds.update((name, ANY_ARRAY) for name in unknown)
            changed = bool(unknown)
    return kinds


def _mark_number_shapes(function: Function, statements: list[ast.stmt],
                        parameter_kinds: dict[str, Kind]) -> None:
    """Mark the calls of ``numpy.zeros``, ``ones``, ``empty`` and ``full`` whose shape is
    a variable that can only hold a number (``n = len(b)``, ``n = A.shape[0]``, ``k = n -
    1``, a module's ``N = 10``): a 1-d array (or NumPy raises, as the function does), where
    the kind of such a shape says only "not an array" (a tuple too). A variable can only
    hold a number when every assignment of it gives one, its operands taken for numbers
    (the greatest such set: a loop's ``n = n + 1``), and every loop it is the target of
    runs over a ``range``; a parameter is one where the code is made for a number there
    (``np.zeros(n)`` of an int parameter ``n``)."""
    arrays = RULES.arrays()
    if arrays is None:
        return
    numpy = arrays.numpy
    creators = (numpy.zeros, numpy.ones, numpy.empty, numpy.full)
    calls = [s.value for s in statements if isinstance(s, ast.Assign)
             and isinstance(s.value, ast.Call) and get_anno(s.value, "callee") in creators
             and s.value.args and isinstance(s.value.args[0], ast.Name)]
    if not calls:
        return
    definitions: dict[str, list[ast.expr | None]] = {}  # None: not a number
    args = function.args
    for parameter in args.posonlyargs + args.args + args.kwonlyargs:
        # a parameter this code takes a number for (its kind in the key the code is
        # made for: a tuple or a list given is an array there, and gets code of its own)
        taken = parameter_kinds.get(parameter.arg, SCALAR) == SCALAR
        definitions.setdefault(parameter.arg, []).append(ast.Constant(0) if taken else None)
    for statement in statements:
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) \
                and len(statement.targets) == 1:
            definitions.setdefault(statement.targets[0].id, []).append(statement.value)
        elif isinstance(statement, ast.For):
            ranged = isinstance(statement.iter, ast.Call) and \
                get_anno(statement.iter, "callee") is range and isinstance(statement.target, ast.Name)
            for name in names(statement.target)[1]:
                definitions.setdefault(name, []).append(
                    ast.Constant(0) if ranged else None)
        elif not isinstance(statement, (ast.If, ast.While, ast.Expr, ast.Return, ast.Pass,
                                        ast.Break, ast.Continue)):
            for name in names(statement)[1]:  # anything else that binds a name
                definitions.setdefault(name, []).append(None)
    shapes = {numpy.shape}
    counts = {len, int, round, numpy.size, numpy.ndim, math.floor, math.ceil, math.trunc}

    def number(node: ast.expr | None, assumed: set[str]) -> bool:
        if node is None:
            return False
        if isinstance(node, ast.Constant):
            return type(node.value) in (int, float, bool)
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
            return number(node.operand, assumed)
        if isinstance(node, ast.BinOp):  # (a tuple's + and * make tuples)
            return number(node.left, assumed) and number(node.right, assumed)
        if isinstance(node, ast.Call):
            callee = get_anno(node, "callee")
            if callee is round and len(node.args) > 1:
                return False
            return callee in counts
        if isinstance(node, ast.Subscript):  # an item of a shape: shape[0], shape[-1]
            base, index = node.value, node.slice
            if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
                index = index.operand
            return isinstance(index, ast.Constant) and type(index.value) is int \
                and isinstance(base, ast.Name) and bool(definitions.get(base.id)) and all(
                    isinstance(d, ast.Call) and get_anno(d, "callee") in shapes
                    for d in definitions[base.id])
        if isinstance(node, ast.Name):
            if node.id in assumed:
                return True
            if node.id not in definitions:  # a free name (parameters are defined): its
                # value now (checked before each call, ``dependencies``)
                return type(function.parsed.lookup(node.id)) in (int, float)
            assumed.add(node.id)
            return all(number(d, assumed) for d in definitions[node.id])
        return False

    for call in calls:
        if number(call.args[0], set()):
            set_anno(call, "number_shape", True)


def _element_kind(iterable: ast.expr, of: Callable[[ast.expr], Kind | None]) -> Kind | None:
    if isinstance(iterable, (ast.Tuple, ast.List)):
        result = SCALAR
        for element in iterable.elts:
            result = join(result, of(element))
        return result
    if isinstance(iterable, ast.Call) and (get_anno(iterable, "callee") in ITERATORS + (range,)
                                           or get_anno(iterable, "callee") is None):
        return SCALAR  # range(...), enumerate(...): numbers
    # an array a function returns (numpy.sort(Y, axis=0)): its rows; a number for
    # anything else (a list of numbers); None while not known
    kind = of(iterable) if not isinstance(iterable, ast.Call) else kind_of(iterable, of)
    if kind is None or not kind.is_array:
        return kind
    return index_rank(kind, ast.Constant(0), of)


def kind_of(value: ast.expr, of: Callable[[ast.expr], Kind | None]) -> Kind | None:
    """The kind of a primitive application's result; ``of`` gives an atom's kind."""
    if isinstance(value, (ast.Constant, ast.UnaryOp)) and is_atom(value):
        return SCALAR
    if isinstance(value, (ast.Tuple, ast.List)):
        # data (looped over, indexed): in arithmetic with arrays, the array it makes
        kind = SCALAR
        for element in value.elts:
            kind = join(kind, of(element) if not isinstance(element, (ast.Tuple, ast.List))
                        else kind_of(element, of))
        if kind is None or (kind.is_array and kind.ndim is None):
            return ANY_ARRAY
        return array(1 + (cast(int, kind.ndim) if kind.is_array else 0))  # known: above
    if isinstance(value, ast.Subscript):
        base = of(value.value)
        return None if base is None else index_rank(base, value.slice, of)
    if isinstance(value, ast.BinOp):
        left, right = of(value.left), of(value.right)
        if left is None or right is None:
            return left or right
        if isinstance(value.op, ast.MatMult):
            return _call_kind(cast("ArrayRule", RULES.lookup(BINARY_OPERATORS["MatMult"], 2)), value, of)
        return broadcast(left, right)
    if isinstance(value, ast.UnaryOp):
        return of(value.operand) if not isinstance(value.op, ast.Not) else SCALAR
    if isinstance(value, ast.Compare):
        if _identity(value) or isinstance(value.ops[0], (ast.In, ast.NotIn)):
            return SCALAR  # x is None, i in (0, n): a bool, whatever x and i are
        return broadcast(*[of(n) for n in [value.left, *value.comparators]])
    if isinstance(value, ast.Call):
        if get_anno(value, "recursive") is not None:
            # what the callee returns for these kinds of arguments (recursive_kind). It
            # was a number whatever the arguments: where the caller's copy of the callee
            # had its base case folded away (`if n == 0` of a constant n), or the base
            # case is a number (x * rec(x, n - 1)), an array was read as a number
            kinds = [of(a) for a in value.args]
            if all(k is not None and not k.is_array for k in kinds):
                return SCALAR
            return recursive_kind(get_anno(value, "recursive"), kinds)
        callee = get_anno(value, "callee")
        argument_kinds = [of(a) if not isinstance(a, (ast.List, ast.Tuple, ast.Subscript))
                          else SCALAR for a in value.args]
        if RULES.is_nondifferentiable(callee):
            return _nondifferentiable_kind(callee, value, argument_kinds, of)
        rule = RULES.lookup(callee, len(value.args))
        if is_array_rule(rule):
            return _call_kind(rule, value, of)
        if _is_math(callee) or callee in ITERATORS:
            return SCALAR  # (an iterator: not an array, whatever it iterates over)
        if rule is None and is_pure(callee):
            return _constant_call_kind(callee, value, of)
        return broadcast(*argument_kinds)
    return SCALAR


def _constant_call(value: ast.expr) -> bool:
    """A call of a pure function without a derivative rule (``srcdiff.pure``)."""
    if not isinstance(value, ast.Call) or get_anno(value, "recursive") is not None:
        return False
    callee = get_anno(value, "callee")
    return RULES.lookup(callee, len(value.args)) is None and \
        not RULES.is_nondifferentiable(callee) and is_pure(callee)


def _constant_call_kind(callee: object, value: ast.Call,
                        of: Callable[[ast.expr], Kind | None]) -> Kind | None:
    """The kind of a pure function's result (``pure.result_kind``); None while an
    argument's kind is not known yet (``infer_kinds``' fixed point asks again)."""
    def argument(node: ast.expr) -> Kind | None:
        if isinstance(node, (ast.List, ast.Tuple)):
            return kind_of(node, of)  # the array NumPy makes of it
        if isinstance(node, ast.Constant):
            return SCALAR if isinstance(node.value, (int, float)) else None
        if isinstance(node, (ast.Name, ast.Attribute)) or is_atom(node):
            return of(node)
        return None  # (an index written as a value): not known
    for node in value.args + [k.value for k in value.keywords]:
        if isinstance(node, ast.Name) and of(node) is None:
            return None
    return result_kind(callee, value, argument)


def _call_kind(rule: ArrayRule, value: ast.BinOp | ast.Call,
               of: Callable[[ast.expr], Kind | None]) -> Kind:
    from .array_rules import VJP, RuleUseError
    if isinstance(value, ast.BinOp):
        arguments = dict(zip(rule.params, [value.left, value.right]))
    else:
        arguments = bind(rule, value).arguments
    kinds = argument_kinds(rule, arguments, of)
    try:
        return rule.kind(VJP(rule, arguments, kinds))
    except RuleUseError:
        from .kinds import ANY_ARRAY
        return ANY_ARRAY  # reported with its place when the rule is applied


def argument_kinds(rule: ArrayRule, arguments: dict[str, ast.expr],
                   of: Callable[[ast.expr], Kind | None]) -> dict[str, Kind]:
    """The kinds of a rule's arguments, as its ``vjp``, ``jvp`` and ``kind`` see them:
    a list or tuple its ``sequence`` parameter takes, or an option (``axis=(0, 1)``),
    has its elements' kind; a list or tuple of numbers written out where the rule takes
    an array (``numpy.diag([1.0, 2.0])``) is the array NumPy makes of it."""
    kinds = {}
    for name, node in arguments.items():
        kind = _sequence_kind(node, of)
        if isinstance(node, (ast.List, ast.Tuple)) and name != rule.sequence and \
                name in rule.wrt and node.elts and all(is_literal(e) and isinstance(
                    ast.literal_eval(e), (int, float)) for e in node.elts):
            kind = array(1)
        kinds[name] = kind
    return kinds


def _sequence_kind(node: ast.expr, of: Callable[[ast.expr], Kind | None]) -> Kind:
    if isinstance(node, (ast.List, ast.Tuple)):
        result = None
        for element in node.elts:
            result = join(result, _sequence_kind(element, of))
        return result or SCALAR
    if isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp) and is_atom(node)):
        return SCALAR
    return of(node) or SCALAR


def _nondifferentiable_kind(callee: object, value: ast.Call, argument_kinds: list[Kind | None],
                            of: Callable[[ast.expr], Kind | None]) -> Kind | None:
    if callee in (len, int, float, bool, round, range, isinstance) or _is_math(callee) or \
            callee in ITERATORS:  # iterators: not arrays
        return SCALAR
    returns = getattr(callee, "__srcdiff_returns__", False)  # srcdiff.nondifferentiable
    if returns == "number":
        return SCALAR
    if returns == "array":
        from .kinds import ANY_ARRAY
        return ANY_ARRAY
    if returns is None:  # like its arguments, as the marker checks at each call
        argument_kinds = argument_kinds + [of(k.value) for k in value.keywords]
        return broadcast(*[k for k in argument_kinds if k is not None]) \
            if argument_kinds else SCALAR
    arrays = RULES.arrays()
    if arrays is None:
        return SCALAR
    if callee in arrays.NONDIFFERENTIABLE_KINDS:
        rule = arrays.NONDIFFERENTIABLE_KINDS[callee]
        if callee is arrays.numpy.argsort and _axis_is_none(value):
            from .kinds import array as array_kind
            return array_kind(1)  # of the array flattened
        if rule is not None:  # (options by keyword count: argmax(X, axis=0) is an array)
            return cast(Kind, rule(argument_kinds + [of(k.value) for k in value.keywords]))
        shape = value.args[0] if value.args else next(
            (k.value for k in value.keywords if k.arg == "shape"), None)
        if isinstance(shape, (ast.Tuple, ast.List)) and \
                not any(isinstance(e, ast.Starred) for e in shape.elts):
            # (n, 1): as many axes as items, each an integer (else NumPy raises)
            from .kinds import array as array_kind
            return array_kind(len(shape.elts))
        if get_anno(value, "number_shape"):  # a number (``_mark_number_shapes``)
            from .kinds import array as array_kind
            return array_kind(1)  # (or NumPy raises, as the function does)
        try:
            # no shape (None): literal_eval raises ValueError, caught below
            return cast(Kind, arrays.shape_kind(ast.literal_eval(shape)))  # type: ignore[arg-type]
        except (ValueError, TypeError):
            from .kinds import ANY_ARRAY
            return ANY_ARRAY
    if callee in (len, int, float, bool, round, range):
        return SCALAR
    if (getattr(callee, "__name__", "") or "").endswith("_like") and argument_kinds:
        return argument_kinds[0]
    return broadcast(*[k for k in argument_kinds if k is not None])


def _axis_is_none(call: ast.Call) -> bool:
    """Whether a call gives ``axis=None`` (by keyword, or second by position)."""
    given = next((k.value for k in call.keywords if k.arg == "axis"),
                 call.args[1] if len(call.args) > 1 else None)
    return isinstance(given, ast.Constant) and given.value is None


def _is_math(callee: object) -> bool:
    """A function of numbers only: ``math``'s, and the builtins that fail on arrays
    (``abs`` and ``pow`` work elementwise on them)."""
    return (getattr(callee, "__module__", None) == "math" and callee is not math.fsum) or \
        callee in (min, max, float)  # math.fsum adds the numbers of a 1-D array


def check_kinds(statement: ast.Assign, kinds: dict[str, Kind], active: set[str], where: Parsed) -> None:
    """Refuse what would fail or be wrong for these kinds: a ``math`` function of an
    array, an array rule whose options depend on the differentiated values."""
    value = statement.value
    if not isinstance(value, ast.Call) or get_anno(value, "recursive") is not None:
        return
    callee = get_anno(value, "callee")
    arrays = [a for a in value.args if isinstance(a, ast.Name)
              and (kinds.get(a.id) or SCALAR).is_array]
    if arrays and _is_math(callee):
        from .rules import qualified_name
        name = qualified_name(callee)
        raise located(KindError, f"{name} takes a number, but `{arrays[0].id}` is an array "
                      f"({kinds[arrays[0].id]})", value, where, hint=_math_hint(callee))


def _math_hint(callee: object) -> str:
    """What to write instead of a function of numbers given an array."""
    if callee is float:
        return "`a.item()` gives the number a one-element array holds"
    if callee in (min, max):
        name = callee.__name__
        return (f"numpy.{name}imum(a, b) works elementwise, numpy.{name}(a) over all the "
                "elements")
    name = getattr(callee, "__name__", "")
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(getattr(numpy, name, None), numpy.ufunc):
        return f"use the NumPy function (numpy.{name}), which works elementwise"
    return "write it with NumPy's functions, which work elementwise"


_VALUE_HINTS = {
    "fill_value": "multiply: value * numpy.ones(shape) (or numpy.ones_like(a)), whose "
                  "derivative srcdiff knows",
    "start": "write the values from an integer range: start + step * numpy.arange(n)",
    "stop": "write the values from an integer range: start + (stop - start) / (num - 1) "
            "* numpy.arange(num)",
    "step": "write the values from an integer range: start + step * numpy.arange(n)",
    "x2": "write numpy.where(x1 > 0, 1.0, numpy.where(x1 == 0, x2, 0.0))",
}


def check_value_arguments(statement: ast.Assign, varied: set[str], where: Parsed) -> None:
    """Refuse a NumPy function taken for one without derivative whose values depend
    smoothly on an argument (``_value_parameters``) that depends on the differentiated
    arguments (``varied``): ``numpy.full(3, x)`` is not a constant."""
    value = statement.value
    if not isinstance(value, ast.Call):
        return
    callee = get_anno(value, "callee")
    for position, parameter in _value_parameters(callee, len(value.args)):
        given = value.args[position] if position is not None and position < len(value.args) \
            else next((k.value for k in value.keywords if k.arg == parameter), None)
        if isinstance(given, ast.Name) and given.id in varied:
            from .rules import qualified_name
            raise located(MissingRuleError, f"{qualified_name(callee)}'s {parameter} "
                          f"(`{given.id}`) depends on the differentiated arguments: srcdiff "
                          "has no derivative rule for it (its result would be taken for a "
                          "constant)", statement, where, hint=_VALUE_HINTS.get(parameter))


def check_constant_calls(statement: ast.Assign, varied: set[str], wrt: Collection[str],
                         where: Parsed, function: Function,
                         reads: dict[str, set[str]] | None = None) -> None:
    """A call of a pure function without a derivative rule (``srcdiff.pure``) is a
    constant only where no argument depends on the differentiated arguments
    (``varied``): refuse it, where it is written, when one does."""
    value = statement.value
    if not _constant_call(value):
        return
    call = cast(ast.Call, value)
    callee = get_anno(call, "callee")
    given = [(f"argument {i + 1}", a) for i, a in enumerate(call.args)] + \
        [(f"argument {k.arg}", k.value) for k in call.keywords]
    for position, (label, node) in enumerate(given):
        found = sorted({n.id for n in walk_code(node) if isinstance(n, ast.Name)} & varied)
        if not found:
            continue
        written = _written_argument(call, position, where)
        if written is None and found[0] not in function.synthetic:
            written = found[0]
        shown = f" (`{written}`)" if written is not None else ""
        # the differentiated arguments it depends on (``reads``: target -> operands)
        sources = [w for w in wrt if w in _reachable(set(found), reads)] \
            if reads is not None else []
        name = name_of(callee)
        params = ", ".join(f"x{i}" for i in range(len(call.args))) or "x"
        raise located(MissingRuleError, f"no derivative rule for {name}: its {label}"
                      f"{shown} depends on {', '.join(sources or wrt)}, and srcdiff calls a function "
                      "without a rule only on constants",
                      call if hasattr(call, "lineno") else statement, where,
                      hint=f"register one: srcdiff.register_rule({name}, lambda {params}: "
                      "<partial derivatives>), see help(srcdiff.register_rule); or, if no "
                      "derivative should flow through it, give it srcdiff.stop_gradient(...) "
                      "of the argument")


def _written_argument(call: ast.Call, position: int, where: Parsed) -> str | None:
    """The source text of a call's argument at ``position`` (keywords after the
    positional ones), read from the call as written (found by its place in ``where``);
    None where it cannot be found."""
    if not hasattr(call, "lineno"):
        return None
    for node in ast.walk(where.tree):
        if isinstance(node, ast.Call) and node.lineno == call.lineno and \
                node.col_offset == call.col_offset and \
                len(node.args) == len(call.args) and len(node.keywords) == len(call.keywords):
            given = node.args + [k.value for k in node.keywords]
            return ast.unparse(given[position])
    return None


def _value_parameters(callee: object, count: int) -> tuple[tuple[int | None, str], ...]:
    """The parameters (position, name) of a NumPy function srcdiff takes for one whose
    result carries no derivative (``RULES.nondifferentiable``: it makes new values, or is
    piecewise constant) on which its values do depend smoothly: refused where the
    argument depends on the differentiated values, never taken for a constant. A position
    None: given by keyword only."""
    import sys
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return ()
    if callee is numpy.full or callee is numpy.full_like:
        return ((1, "fill_value"),)
    if callee is numpy.linspace:
        return ((0, "start"), (1, "stop"))
    if callee is numpy.arange:  # one argument is the stop: a length, piecewise constant
        return ((0, "start"), (2, "step")) if count >= 2 else ((None, "start"), (None, "step"))
    if callee is numpy.heaviside:
        return ((1, "x2"),)  # the value at 0
    return ()


def check_indexed_numbers(function: Function, kinds: dict[str, Kind], wrt: Collection[str]) -> None:
    """``x[0]`` where ``x``, differentiated, is a number: Python raises TypeError there. A
    KindError, which the call wrapper defers to calls whose argument is a number (code is
    first generated for numbers; a list, tuple or dict argument gets code of its own), so
    it must come before any check that takes ``x`` for a number indexed."""
    for statement in statements_of(function.body):
        value = statement.iter if isinstance(statement, ast.For) else getattr(
            statement, "value", None)
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and \
                value.value.id in wrt and not kinds.get(value.value.id, SCALAR).is_array:
            raise located(KindError, f"`{ast.unparse(value)}` indexes `{value.value.id}`, "
                          "which is a number here", statement,
                          get_anno(statement, "where", function.parsed),
                          hint="pass a NumPy array, or a list, tuple or dict of values")


def check_grown_lists(function: Function) -> None:
    """A list the function grows while it runs (``runtime.empty_list`` and
    ``runtime.appended``, normalize's form of ``out = []`` and ``out.append(v)`` in a
    loop it does not write out) is a value whose derivative is an array of its elements.
    It may be copied, appended to, counted (``len``), read by position (``xs[i]``),
    looped over and made an array (``runtime.list_array`` and ``list_stack``, which
    normalize puts where a NumPy function is given it); anything else is refused where
    it is written. The variables that may hold one are found to a fixed point over
    copies, so no path escapes the check."""
    import sys
    runtime = sys.modules.get(__package__ + ".runtime")
    if runtime is None:  # (no NumPy: nothing made such a list)
        return
    statements = statements_of(function.body)
    makers = (runtime.empty_list, runtime.appended, runtime.appended_tangent)
    lists: set[str] = set()
    changed = True
    while changed:
        changed = False
        for statement in statements:
            if not isinstance(statement, ast.Assign) or not isinstance(statement.targets[0], ast.Name):
                continue
            target, value = statement.targets[0].id, statement.value
            if target not in lists and (
                    (isinstance(value, ast.Call) and get_anno(value, "callee") in makers) or
                    (isinstance(value, ast.Name) and value.id in lists)):
                lists.add(target)
                changed = True
    if not lists:
        return
    # (forward code, which a Hessian differentiates again, reads the list for the shape
    # of a zero tangent, numpy.zeros_like, and gives it to appended_tangent)
    readers = (runtime.list_array, runtime.list_stack, len, sys.modules["numpy"].zeros_like)
    for statement in statements:
        if isinstance(statement, (ast.Try, ast.Raise)):
            read = [n for n in names(statement)[0] if n in lists]
            if read:
                _refuse_list_use(function, statement, read[0])
            continue
        if isinstance(statement, (ast.If, ast.While)):
            headers: list[ast.AST] = [statement.test]
        elif isinstance(statement, ast.For):
            if isinstance(statement.iter, ast.Name):
                continue  # looped over: iterate reads it by position
            headers = [statement.iter]
        else:
            headers = [statement]
        allowed: set[int] = set()  # the Name nodes read in a way the rules define
        for header in headers:
            for node in walk_code(header):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                    allowed.add(id(node.value))  # a copy
                elif isinstance(node, ast.Call) and node.args and (
                        get_anno(node, "callee") in readers or
                        get_anno(node, "callee") is runtime.appended):
                    allowed.add(id(node.args[0]))
                elif isinstance(node, ast.Call) and len(node.args) > 1 and \
                        get_anno(node, "callee") is runtime.appended_tangent:
                    allowed.update((id(node.args[0]), id(node.args[1])))
                elif isinstance(node, ast.Subscript) and not any(
                        isinstance(part, ast.Slice) for part in walk_code(node.slice)):
                    allowed.add(id(node.value))
        for header in headers:
            for node in walk_code(header):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                        node.id in lists and id(node) not in allowed:
                    _refuse_list_use(function, statement, node.id,
                                     # zip and enumerate of arrays: iterate reads them by
                                     # position, as it does lists (kinds: KindError)
                                     KindError if isinstance(statement, ast.For) else
                                     UnsupportedSyntaxError)


def _refuse_list_use(function: Function, statement: ast.stmt, name: str,
                     error: type[LocatedError] = UnsupportedSyntaxError) -> None:
    what = "a list the function grows while it runs" if name in function.synthetic else \
        f"`{name}`, a list the function grows while it runs,"
    raise located(error, f"{what} is used here in a way srcdiff does not "
                  "differentiate: it reads such a list with len(), by position (xs[i]), in "
                  "for loops and comprehensions, with sum, min and max, and by giving it to a "
                  "NumPy function that takes one array (np.sum, np.mean, np.array, np.stack; "
                  "not one that joins a list of arrays: np.concatenate, np.vstack, "
                  "np.hstack)", statement, get_anno(statement, "where", function.parsed),
                  hint="make it an array first: numpy.array(xs) (numpy.stack(xs) stacks "
                  "rows of one length as numpy.vstack does 1-d rows)")


def check_sharing(function: Function, kinds: dict[str, Kind]) -> list[LocatedError]:
    """Item assignment (``a[i] = v``) and ``a += b`` change an array in place; generated
    code makes a new array instead, so the backward sweep keeps the old one. That is the
    same program only when nothing else that may refer to the changed array is read
    afterwards: refuse the rest, with the place of the change.

    *May refer to the same array* is a flow-insensitive alias analysis: copies (``b =
    a``, and the copies ``a if c else b``, ``a or b`` and inlined calls turn into),
    views (``a[1:]``, ``a.T``, ``reshape``...) and the changes themselves join classes.
    *Read afterwards* is liveness (``dataflow.Liveness``), loops included.

    Returns, without raising them, the errors for changes of an array that may be a
    global's (or an enclosing function's): the gradient leaves it as it was, but
    ``srcdiff.vjp``, which runs the function for its value, would leave its pull-back
    to see it changed."""
    assignments = _assignments(function.body)
    changes = [s for s in assignments if get_anno(s, "in_place")
               and (kinds.get(name_id(s.targets[0])) or SCALAR).is_array]
    if not changes or RULES.arrays() is None:
        return []
    views = RULES.arrays().VIEWS
    appended = RULES.arrays().runtime.appended
    classes = _Classes()
    for statement in assignments:
        target, value = name_id(statement.targets[0]), statement.value
        if not (kinds.get(target) or SCALAR).is_array:
            continue
        source = None
        if isinstance(value, ast.Name):
            source = value.id
        elif isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) \
                and not _fancy(value.slice, kinds):
            source = value.value.id
        elif isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Name) \
                and (get_anno(value, "callee") in views or get_anno(statement, "in_place")):
            source = value.args[0].id
        elif isinstance(value, ast.BinOp) and get_anno(statement, "in_place") \
                and isinstance(value.left, ast.Name):
            source = value.left.id
        if source is not None:
            classes.join(target, source)
        elif isinstance(value, ast.Call) and (get_anno(value, "callee") is appended or
                                              sharing(get_anno(value, "callee"))):
            # a grown list refers to its elements; numpy.histogram's edges may be its bins
            for argument in value.args + [k.value for k in value.keywords]:
                if isinstance(argument, ast.Name):
                    classes.join(target, argument.id)
    from .dataflow import Liveness
    others_of: dict[int, set[str]] = {}  # what may refer to the changed array, per change
    fresh = _fresh_before(function.body, changes)
    for change in changes:
        value = change.value
        changed = name_id(value.args[0] if isinstance(value, ast.Call) else cast(ast.BinOp, value).left)
        others = classes.members(changed) - {changed, name_id(change.targets[0])}
        since = fresh.get(id(change))
        if since is not None and not others <= since:
            # the array was made by a statement of the change's block, after which only
            # the names bound since can refer to it: a name of the class bound before
            # refers to an older array (a time step's `new = u.copy()` ... `u = new`).
            # Left to copies: ``_mark_writes_in_place`` reasons from the whole class.
            others &= since
            set_anno(change, "refined", True)
        others_of[id(change)] = others
    live = Liveness(function.body, set(), watch=others_of).after  # which of them are live
    args = function.args
    local = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    local.update(n for s in statements_of(function.body) for n in names(s)[1])
    outside: list[LocatedError] = []
    for change in changes:
        value = change.value
        changed = name_id(value.args[0] if isinstance(value, ast.Call) else cast(ast.BinOp, value).left)
        others = others_of[id(change)]
        read_later = sorted(others & live.get(id(change), set()))
        shown = [n for n in read_later if n not in function.synthetic] or read_later
        if shown and shown[0] in function.synthetic and shown[0].startswith("loop_over_"):
            # the array a loop runs over (``iterate``'s copy of its name): the loop's
            # iterable, or a view of it (``for v in y[1:]``), is what is changed
            where = get_anno(change, "where", function.parsed)
            refusal = located(UnsupportedSyntaxError, f"`{changed}` is changed in place "
                              "inside a loop that runs over it or over a view of it (a slice "
                              "of it): Python's loop sees the change; srcdiff makes a new "
                              "array where Python changes the shared one", change, where,
                              hint="loop over a copy (`for v in y[1:].copy()`), or change a "
                              f"copy of `{changed}`")
            setattr(refusal, "depends_on_kinds", True)
            raise refusal
        if shown:
            where = get_anno(change, "where", function.parsed)
            refusal = located(UnsupportedSyntaxError, f"`{changed}` is changed in place while "
                          f"`{shown[0]}`, which may refer to the same array, is still read "
                          "afterwards; srcdiff makes a new array where Python changes the "
                          "shared one", change, where,
                          hint=f"make a copy where they are bound: "
                          f"{shown[0]} = (...).copy(), or copy `{changed}` before changing it")
            # which values are arrays decides it: the gradient made at decoration, for
            # numbers, leaves it to the first call (``api._entry_point``)
            setattr(refusal, "depends_on_kinds", True)
            raise refusal
        foreign = sorted(n for n in others | {changed} if n not in local)
        if foreign:
            where = get_anno(change, "where", function.parsed)
            outside.append(located(
                UnsupportedSyntaxError, f"`{changed}` may be the array `{foreign[0]}` from "
                "outside the function, which it changes in place here: srcdiff.vjp runs the "
                "function for its value, and its pull-back would see the array changed",
                change, where, hint=f"pass the array as an argument, or change a copy: "
                f"{changed} = {foreign[0]}.copy()"))
    _mark_writes_in_place(function, assignments, changes, classes, kinds)
    return outside


def _mark_writes_in_place(function: Function, assignments: list[ast.Assign],
                          changes: list[ast.Assign], classes: _Classes,
                          kinds: dict[str, Kind]) -> None:
    """Mark the item assignments (``new = set_item(a, i, v)``) the reverse pass may make
    in place (``write_item``, undone by the backward sweep: ``reverse``): those of an array
    the function made itself, that nothing outside it can see. Every name that may refer
    to it (``check_sharing``'s class of ``a``) is a local, not a parameter, not returned,
    bound only by assignments, and each of its assignments either makes a new array (a
    NumPy function that always does, arithmetic, an index with an array in it) or gives
    it one of the class's arrays (a copy, a view, a change). Checked already: no other
    name of the class is read after the change, so the forward sweep reads no array
    the change would alter."""
    arrays = RULES.arrays()
    if arrays is None:
        return
    numpy = arrays.numpy
    views = arrays.VIEWS
    set_item = arrays.runtime.set_item
    args = function.args
    parameters = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    parameters.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    simple = {id(s) for s in assignments}
    by_target: dict[str, list[ast.Assign]] = {}
    for statement in assignments:
        by_target.setdefault(name_id(statement.targets[0]), []).append(statement)
    otherwise: set[str] = set()  # names bound other than by `name = value`
    returned: set[str] = set()
    for other in statements_of(function.body):
        if isinstance(other, ast.Return):
            returned.update(names(other)[0])
        if id(other) in simple or isinstance(other, (ast.If, ast.While)):
            continue
        otherwise.update(names(other.target if isinstance(other, ast.For) else other)[1])

    def keeps_class(statement: ast.Assign, members: set[str]) -> bool:
        value = statement.value
        if isinstance(value, ast.Name):
            return value.id in members
        if isinstance(value, (ast.BinOp, ast.UnaryOp)):
            return True  # a new array (an in-place `a += b` is a change, of a member)
        if isinstance(value, ast.Subscript):
            return _fancy(value.slice, kinds) or (isinstance(value.value, ast.Name)
                                                  and value.value.id in members)
        if isinstance(value, ast.Call):
            created = _created(value, numpy)
            if created is not None:
                return created
            if get_anno(value, "callee") in views or get_anno(statement, "in_place"):
                return bool(value.args) and isinstance(value.args[0], ast.Name) \
                    and value.args[0].id in members
        return False

    for change in changes:
        value = change.value
        if not (isinstance(value, ast.Call) and get_anno(value, "callee") is set_item) or \
                get_anno(change, "refined"):
            continue
        changed = name_id(value.args[0])
        members = classes.members(changed) | {changed, name_id(change.targets[0])}
        if members & (parameters | otherwise | returned):
            continue
        if all(name in by_target and all(keeps_class(s, members) for s in by_target[name])
               for name in members):
            set_anno(value, "write_in_place", True)
            # what the change alters besides the names it assigns: every name that may
            # refer to the array (views included), for the reverse pass's recomputations
            set_anno(value, "aliases", frozenset(members))


def _fresh_before(body: list[ast.stmt], changes: list[ast.Assign]) -> dict[int, set[str]]:
    """For each change (by id) of an array ``a`` whose last assignment before it in its
    own block makes a new array (a NumPy function that always does, with its usual
    options, or arithmetic), the names the statements in between may bind (nested blocks
    included): only they can refer to that array at the change. Every path to the change
    runs that assignment and then exactly those statements; a name not bound by them was
    bound before the array existed."""
    arrays = RULES.arrays()
    if arrays is None:
        return {}
    numpy = arrays.numpy
    wanted = {id(c) for c in changes}
    found: dict[int, set[str]] = {}

    def makes_new(statement: ast.stmt) -> bool:
        if not isinstance(statement, ast.Assign) or get_anno(statement, "in_place"):
            return False
        value = statement.value
        if isinstance(value, (ast.BinOp, ast.UnaryOp)):
            return True
        return isinstance(value, ast.Call) and bool(_created(value, numpy))

    def scan(earlier_statements: list[ast.stmt], changed: str, bound: set[str],
             through: str | None) -> tuple[str, str | None]:
        """Back from the change over ``earlier_statements``: "found" (the assignment
        that makes the array), "broken" (one that may not), or "open" (none: the
        statements before them decide); ``bound`` gathers the names met."""
        for earlier in reversed(earlier_statements):
            written = names(earlier)[1]
            if through is not None and through in written:
                # `set_item_1 = set_item(new, 0, w)`: the same array, changed in place
                # (a boundary written before), made where `new` was last assigned
                value = getattr(earlier, "value", None)
                if not (isinstance(earlier, ast.Assign) and get_anno(earlier, "in_place")
                        and targets(earlier) == [through] and (
                            isinstance(value, ast.Call) and value.args
                            and isinstance(value.args[0], ast.Name)
                            and value.args[0].id == changed)):
                    return "broken", through
                through = None
                bound.update(written)
                continue
            if changed in written:
                if makes_new(earlier) and targets(earlier) == [changed]:
                    return "found", through
                if through is None and isinstance(earlier, ast.Assign) and \
                        targets(earlier) == [changed] and isinstance(earlier.value, ast.Name):
                    through = earlier.value.id
                    continue
                return "broken", through
            bound.update(written)
        return "open", through

    def only_changed_in_place(loop: ast.stmt, changed: str) -> bool:
        """Whether every assignment of ``changed`` in ``loop`` is ``changed = t`` with
        ``t`` an in-place change of ``changed`` itself: an iteration leaves the next one
        the same array (``a[i] += v`` in a loop filling ``a``)."""
        changes_of = {targets(s)[0]: s for s in statements_of([loop])
                      if isinstance(s, ast.Assign) and get_anno(s, "in_place")
                      and len(targets(s)) == 1 and isinstance(s.value, ast.Call)
                      and s.value.args and isinstance(s.value.args[0], ast.Name)
                      and s.value.args[0].id == changed}
        for statement in statements_of(cast(Any, loop).body + cast(Any, loop).orelse):
            if isinstance(statement, (ast.If, ast.For, ast.While)):
                if changed in names(statement.target)[1] if isinstance(statement, ast.For) \
                        else False:
                    return False
                continue
            if changed not in names(statement)[1]:
                continue
            if not (isinstance(statement, ast.Assign) and targets(statement) == [changed]
                    and isinstance(statement.value, ast.Name)
                    and statement.value.id in changes_of):
                return False
        return True

    def block(statements: list[ast.stmt], frames: list[tuple[list[ast.stmt], int]]) -> None:
        for position, statement in enumerate(statements):
            if isinstance(statement, (ast.If, ast.For, ast.While)):
                block(statement.body, frames + [(statements, position)])
                block(statement.orelse, frames + [(statements, position)])
                continue
            if id(statement) not in wanted:
                continue
            value = statement.value  # type: ignore[attr-defined]
            changed = name_id(value.args[0] if isinstance(value, ast.Call) else value.left)
            bound: set[str] = set()
            status, through = scan(statements[:position], changed, bound, None)
            outer = list(frames)
            # made before the loop or branch the change is in (a loop filling an array a
            # loop around it made): on through the blocks outside, the whole compound
            # statement's names bound too, where each iteration leaves the same array
            while status == "open" and outer and through is None:
                parent, at = outer.pop()
                compound = parent[at]
                if isinstance(compound, (ast.For, ast.While)) and \
                        not only_changed_in_place(compound, changed):
                    break
                bound.update(names(compound)[1])
                status, through = scan(parent[:at], changed, bound, None)
            if status == "found":
                found[id(statement)] = bound

    block(body, [])
    return found


def _created(value: ast.Call, numpy: Any) -> bool | None:
    """Whether a call of a NumPy function that makes arrays (``zeros``, ``copy``,
    ``array``...) makes a new one: with its usual options only (``numpy.array(x,
    copy=False)`` may make none); None for any other call."""
    if get_anno(value, "callee") not in (
            numpy.zeros, numpy.ones, numpy.empty, numpy.full, numpy.zeros_like,
            numpy.ones_like, numpy.empty_like, numpy.full_like, numpy.array, numpy.copy,
            RULES.arrays().runtime.copy_of,
            numpy.arange, numpy.linspace, numpy.eye, numpy.identity):
        return None
    return all(k.arg in ("dtype", "order") for k in value.keywords)


def _assignments(body: list[ast.stmt]) -> list[ast.Assign]:
    return [s for s in statements_of(body)
            if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)]


def _fancy(index: ast.expr, kinds: dict[str, Kind]) -> bool:
    """An index with an array in it: NumPy copies instead of making a view."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return any(isinstance(p, ast.Name) and (kinds.get(p.id) or SCALAR).is_array for p in parts)


class _Classes:
    """Union-find over names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        root = self.parent.setdefault(name, name)
        while root != self.parent[root]:
            root = self.parent[root]
        while self.parent[name] != root:
            self.parent[name], name = root, self.parent[name]
        return root

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def members(self, name: str) -> set[str]:
        root = self.find(name)
        return {n for n in list(self.parent) if self.find(n) == root}
