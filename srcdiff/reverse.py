"""Stage 6, reverse: the adjoint program (reverse mode).

Contract: takes an analysed three-address ``ir.Function`` and returns the gradient
function: the forward sweep (the primal statements, plus what the backward sweep needs
saved), then the backward sweep, which visits the primal statements in reverse order
and, for each active one ``y = op(a, b)``, adds ``b_y * ∂op/∂a`` to ``b_a`` for every active
operand. The partials come from the rule table, evaluated as code.

Straight-line code at the top level is in single-assignment form: its adjoints are
initialised by their first write (``b_a = ...``) and later contributions use ``+=``.

Inside ``if``, ``for`` and ``while`` a variable may be overwritten, so:

* every adjoint the compound statement touches is set to ``0.0`` before it, and
  contributions accumulate with ``+=``; after differentiating ``y = ...`` the adjoint of
  ``y`` is reset to ``0.0`` (it now belongs to the value ``y`` had before);
* an overwritten value the backward sweep reads is pushed on ``tape`` (a plain list)
  before the overwrite and popped after the statement is differentiated (Tapenade's
  scheme); a variable the backward sweep never reads is never saved;
* the backward sweep replays an ``if`` on its (restored) test, and a loop as many times
  as the forward sweep counted (pushed on the tape when the loop is itself repeated).

Each backward statement is annotated with the primal statement it differentiates
(``grad_of``). Unoptimised on purpose: the optimiser removes what this pass leaves.

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

>>> def power(x, n):
...     y = 1.0
...     for i in range(n):
...         y = y * x
...     return y
>>> print(reverse(analyse(lower(normalize(parse(power))), ("x",)), "dpower_dx").source())
def dpower_dx(x, n):
    tape = []
    y = 1.0
    iterations = 0
    for i in range(n):
        iterations += 1
        mul = y * x
        tape.append(y)
        y = mul
    b_y = 1.0
    b_x = 0.0
    for _ in range(iterations):
        b_mul = b_y
        b_y = 0.0
        y = tape.pop()
        b_y += b_mul * x
        b_x += b_mul * y
    return b_x
"""

from __future__ import annotations

import ast
import copy

from .analyse import RECURSIVE, arguments, bind, cannot_raise, is_array_rule, operands, rule_of
from .errors import KindError, located
from .expr import Code, array_mode, call, mul, negated, node_of, wrap
from .ir import Function, get_anno, name_counts, set_anno
from .kinds import SCALAR

_COMPOUND = (ast.If, ast.For, ast.While)


def reverse(function: Function, name: str, with_value: bool = False,
            as_tuple: bool = False, vjp: bool = False, reuse: bool = True,
            rematerialize: bool = True) -> Function:
    """``as_tuple``: return a tuple of gradients even for one ``wrt`` parameter.
    ``vjp``: the vector-Jacobian function of a recursive callee: every parameter by
    position, then the adjoint of the result; returns the tuple of ``wrt`` adjoints.
    ``reuse``: partials read values the forward sweep computed (cse across sweeps)."""
    return Reverse(function, reuse, rematerialize).run(name, with_value, as_tuple, vjp)


def _marker(kind: str, variable: str, **facts) -> ast.stmt:
    """A placeholder for a tape operation, decided once the backward sweep is known."""
    node = ast.Expr(ast.Constant(f"{kind} {variable}"))
    set_anno(node, "marker", kind)
    set_anno(node, "variable", variable)
    for key, value in facts.items():
        set_anno(node, key, value)
    return node


class Reverse:
    """State: ``written`` holds the adjoints initialised so far in the top-level
    backward sweep; ``loops`` pairs each backward loop with the forward statements that
    count its iterations (dropped with it when it turns out to do nothing)."""

    def __init__(self, function: Function, reuse: bool = True, rematerialize: bool = True):
        self.optimizing = rematerialize
        self.redone = False  # whether rematerialize wrote any recomputation
        self.stores = name_counts(function.body)[0]
        self.function = function
        self.namer = function.namer
        self.active = set(function.active)
        self.written: set[str] = set()
        self.loops: list[tuple[ast.stmt, list[ast.stmt]]] = []
        self.tape = self.namer.fresh("tape")
        self.vjps: dict = {}  # (callee, wrt) -> name of its vector-Jacobian function
        args = function.args
        # Temporaries assigned once and read once, in the same block: inside a compound
        # statement their adjoint gets exactly one, unconditional contribution, so it is
        # assigned (b_t = ...) rather than accumulated, and never reset or initialised.
        self.local_temporaries = _single_use_temporaries(function)
        # Variables assigned so far, in program order: outside loops, a variable with no
        # earlier value has nothing to save when it is assigned.
        self.bound = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        self.kinds = function.kinds
        # Values the forward sweep computes once, at the top level, from variables assigned
        # once: a partial derivative that needs one reads it instead (cse across sweeps).
        stores, _ = name_counts(function.body)
        self.computed = {}
        for statement in function.body if reuse else ():
            if isinstance(statement, ast.Assign) and not isinstance(
                    statement.value, (ast.Name, ast.Constant)):
                names = {statement.targets[0].id} | {
                    n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name)}
                if all(stores.get(n, 0) <= 1 for n in names):
                    self.computed.setdefault(ast.dump(statement.value), statement.targets[0].id)
        # Adjoints initialised to a plain 0.0 (before a compound statement): for an array,
        # a stand-in for zeros that array rules needing the exact shape must expand.
        self.placeholders: set[str] = set()

    def is_array(self, variable: str) -> bool:
        return self.kinds.get(variable, SCALAR).is_array

    def helper(self, name: str) -> Code:
        from .array_rules import helper_name
        return Code.name(helper_name(self.function, name))

    def adjoint(self, variable: str) -> str:
        name = self.namer.adjoint(variable)
        self.function.synthetic.add(name)
        return name

    # -- the whole function ----------------------------------------------------------
    def run(self, name: str, with_value: bool, as_tuple: bool, vjp: bool = False) -> Function:
        function = self.function
        body = [s for s in function.body if not isinstance(s, ast.Return)]
        forward, parts = [], []
        for statement in body:
            if isinstance(statement, _COMPOUND):
                fwd, bwd = self.compound(statement, depth=0, top=True)
                forward += fwd
                parts.append((statement, bwd))
            else:
                forward.append(statement)
                parts.append((statement, None))
                if isinstance(statement, ast.Assign):
                    self.bound.add(statement.targets[0].id)
        backward: list[ast.stmt] = []
        output = function.output
        seed = self.namer.fresh("b_result") if vjp else None
        if isinstance(output, ast.Name) and output.id in self.active:
            backward += self.accumulate(output.id, Code.name(seed) if vjp else 1.0, None, top=True)
        for statement, reversed_compound in reversed(parts):
            if reversed_compound is None:
                backward += self.differentiate(statement, top=True)
            elif reversed_compound:
                backward += self.initialise(reversed_compound) + reversed_compound
        gradients = [self.gradient(p) for p in function.wrt]
        backward += self.owned(gradients, backward)
        if len(gradients) == 1 and not as_tuple and not vjp:
            result = gradients[0]
        else:
            result = ast.Tuple(gradients, ast.Load())
        if with_value:
            if isinstance(output, ast.Name):
                # The backward sweep may restore the output's variable from the tape:
                # keep the value the forward sweep computed.
                value = self.namer.fresh("value")
                self.function.synthetic.add(value)
                forward.append(ast.Assign([ast.Name(value, ast.Store())], output))
                output = ast.Name(value, ast.Load())
            result = ast.Tuple([output, result], ast.Load())
        forward, backward = self.materialize(forward, backward)
        args = function.args
        if vjp:
            everything = args.posonlyargs + args.args + args.kwonlyargs + [ast.arg(seed)]
            args = ast.arguments(posonlyargs=[], args=[ast.arg(a.arg) for a in everything],
                                 vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                                 defaults=[])
        return function.replace(name=name, args=args,
                                body=forward + backward + [ast.Return(result)])

    def gradient(self, parameter: str) -> ast.expr:
        """The gradient returned for ``parameter``: for an array, an array of its shape
        even when no derivative reached it."""
        adjoint = ast.Name(self.namer.adjoint(parameter), ast.Load()) \
            if parameter in self.written else None
        if not self.is_array(parameter):
            return adjoint or ast.Constant(0.0)
        zeros = call("numpy.zeros_like", Code.name(parameter))
        if adjoint is None:
            return zeros.node
        if parameter not in self.placeholders:
            return adjoint
        # still 0.0 if no contribution ran (a loop that ran zero times)
        return ast.IfExp(call("numpy.ndim", Code(adjoint)).node, adjoint,
                         ast.BinOp(zeros.node, ast.Add(), adjoint))

    def owned(self, gradients: list, backward: list) -> list[ast.stmt]:
        """``b_x = owned(b_x)`` for array gradients that may be a read-only view or the
        same array as another gradient (the caller may update them in place)."""
        last = {}
        for statement in backward:
            if isinstance(statement, ast.Assign):
                last[statement.targets[0].id] = statement.value
            elif isinstance(statement, (ast.AugAssign, *_COMPOUND)):
                for node in ast.walk(statement):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                        last[node.id] = None  # set inside a loop or branch: unknown
        names = [g.id for p, g in zip(self.function.wrt, gradients)
                 if isinstance(g, ast.Name) and self.is_array(p) and not _fresh(last.get(g.id))]
        if not names:
            return []
        targets = [ast.Name(n, ast.Store()) for n in names]
        call_ = ast.Call(self.helper("owned").node, [ast.Name(n, ast.Load()) for n in names], [])
        return [ast.Assign([targets[0] if len(targets) == 1 else ast.Tuple(targets, ast.Store())],
                           call_)]

    def initialise(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        """``b = 0.0`` for each adjoint a reversed compound statement uses before any write."""
        adjoints = set(self.namer.adjoints.values()) - {
            self.namer.adjoints[t] for t in self.local_temporaries if t in self.namer.adjoints}
        used = sorted({n.id for s in statements for n in ast.walk(s)
                       if isinstance(n, ast.Name) and n.id in adjoints})
        result = []
        for name in used:
            variable = next(v for v, a in self.namer.adjoints.items() if a == name)
            if variable not in self.written:
                self.written.add(variable)
                self.placeholders.add(variable)
                result.append(ast.Assign([ast.Name(name, ast.Store())], ast.Constant(0.0)))
        return result

    # -- compound statements -------------------------------------------------------
    def block(self, statements, depth: int) -> tuple[list, list]:
        pairs = []
        for statement in statements:
            if isinstance(statement, _COMPOUND):
                pairs.append((statement, *self.compound(statement, depth)))
            else:
                pairs.append((statement, *self.in_compound(statement, depth)))
        if depth and self.optimizing:
            pairs = self.rematerialize(pairs)
        forward, backward = [], []
        for _, fwd, bwd in pairs:
            forward += fwd
            backward = bwd + backward
        return forward, backward

    def rematerialize(self, pairs: list) -> list:
        """In a loop body, a temporary computed by arithmetic that cannot raise (``t = 0.5
        * x``) is recomputed in the backward sweep, just before the last statement that
        reads it is differentiated, instead of being pushed and popped: its operands hold
        the same values there, when no statement in between assigns them."""
        result = list(pairs)
        chosen: set[str] = set()
        for i, (statement, fwd, bwd) in enumerate(pairs):
            if not (isinstance(statement, ast.Assign) and isinstance(statement.value, (ast.BinOp, ast.UnaryOp))
                    and statement.targets[0].id in self.function.synthetic
                    and self.stores.get(statement.targets[0].id, 0) <= 1
                    and cannot_raise(statement.value)):
                continue
            temporary = statement.targets[0].id
            operands_ = operands(statement.value)
            if temporary in operands_ or operands_ & chosen:
                continue  # redone from a value that is itself redone: keep the tape
            last = None
            for j in range(i + 1, len(pairs)):
                later = pairs[j][0]
                names = [n for n in ast.walk(later) if isinstance(n, ast.Name)]
                if any(n.id == temporary for n in names):
                    if isinstance(later, _COMPOUND) or not isinstance(later, ast.Assign):
                        last = None
                        break
                    last = j
                if any(n.id in operands_ and isinstance(n.ctx, ast.Store) for n in names):
                    break  # an operand changes: from here on, the temporary cannot be redone
            if last is None or any(
                    isinstance(n, ast.Name) and n.id == temporary for _, f, _ in pairs[last + 1:]
                    for s in f for n in ast.walk(s)):
                continue
            keep = lambda s: get_anno(s, "variable") != temporary
            result[i] = (statement, [s for s in fwd if keep(s)], [s for s in bwd if keep(s)])
            redo = _same_place(ast.Assign([ast.Name(temporary, ast.Store())],
                                          copy.deepcopy(statement.value)), statement)
            set_anno(redo, "redo", True)  # dropped in materialize if nothing reads it
            chosen.add(temporary)
            self.redone = True
            reader, rfwd, rbwd = result[last]
            result[last] = (reader, rfwd, [redo] + rbwd)
        return result

    def compound(self, statement, depth: int, top: bool = False) -> tuple[list, list]:
        if isinstance(statement, ast.If):
            return self.branch(statement, depth, top)
        return self.loop(statement, depth)

    def branch(self, statement: ast.If, depth: int, top: bool) -> tuple[list, list]:
        """The backward sweep replays the branch taken. It may evaluate the test again
        only if the branch assigns nothing the test reads; otherwise the decision is
        kept in a variable of its own (saved on the tape like any value, in a loop)."""
        test, before_forward, after_backward = statement.test, [], []
        assigned = {n.id for s in statement.body + statement.orelse for n in ast.walk(s)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        if operands(test) & assigned:
            decision = self.namer.fresh("taken")
            self.function.synthetic.add(decision)
            assign = _same_place(ast.Assign([ast.Name(decision, ast.Store())], test), statement)
            if top:
                before_forward = [assign]
            else:
                before_forward, after_backward = self.in_compound(assign, depth)
            test = ast.Name(decision, ast.Load())
        fb, bb = self.block(statement.body, depth)
        fo, bo = self.block(statement.orelse, depth)
        forward = _same_place(ast.If(test, fb or [ast.Pass()], fo), statement)
        backward = _same_place(ast.If(copy.deepcopy(test), bb or [ast.Pass()], bo), statement)
        return before_forward + [forward], [backward] + after_backward

    def loop(self, statement, depth: int) -> tuple[list, list]:
        counter = self.namer.fresh("iterations")
        self.function.synthetic.add(counter)
        body_forward, body_backward = self.block(statement.body, depth + 1)
        count = ast.AugAssign(ast.Name(counter, ast.Store()), ast.Add(), ast.Constant(1))
        counting = [ast.Assign([ast.Name(counter, ast.Store())], ast.Constant(0)), count]
        prefix = [count]
        if isinstance(statement, ast.For):
            loop = ast.For(copy.deepcopy(statement.target), statement.iter, [], [])
            targets = [n.id for n in ast.walk(statement.target) if isinstance(n, ast.Name)]
            self.bound.update(targets)
            prefix.append(_marker("save_targets", ",".join(targets), loop=loop))
            body_backward += [_marker("restore", t) for t in reversed(targets)]
        else:
            loop = ast.While(statement.test, [], [])
        loop.body = prefix + body_forward
        forward = [counting[0], _same_place(loop, statement)]
        if depth:  # a repeated loop: its trip counts go on the tape
            push = self.tape_call("append", ast.Name(counter, ast.Load()))
            forward.append(push)
            counting.append(push)
            trips = self.tape_call("pop")
        else:
            trips = ast.Name(counter, ast.Load())
        replay = ast.For(ast.Name("_", ast.Store()),
                         ast.Call(ast.Name("range", ast.Load()), [trips], []),
                         body_backward or [ast.Pass()], [])
        self.loops.append((replay, counting))
        return forward, [_same_place(replay, statement)]

    def tape_call(self, method: str, *args) -> ast.expr:
        call = ast.Call(ast.Attribute(ast.Name(self.tape, ast.Load()), method, ast.Load()),
                        list(args), [])
        return ast.Expr(call) if args else call

    def in_compound(self, statement, depth: int) -> tuple[list, list]:
        """``depth``: how many loops enclose the statement."""
        if not isinstance(statement, ast.Assign):
            return [statement], []  # break, print(...), assert: forward only
        target, value = statement.targets[0].id, statement.value
        if target in self.active and target in operands(value) and not isinstance(
                value, ast.Name):
            # y = f(y, a): compute into a temporary first, so the backward sweep can read
            # the old y (restored from the tape) and the new one (the temporary).
            temporary = self.namer.fresh(_short(value))
            self.function.synthetic.add(temporary)
            self.active.add(temporary)
            self.local_temporaries.add(temporary)
            first = _same_place(ast.Assign([ast.Name(temporary, ast.Store())], value), statement)
            second = _same_place(ast.Assign([ast.Name(target, ast.Store())],
                                            ast.Name(temporary, ast.Load())), statement)
            f1, b1 = self.in_compound(first, depth)
            f2, b2 = self.in_compound(second, depth)
            return f1 + f2, b2 + b1
        backward = self.differentiate(statement, top=False)
        if target in self.active and target not in self.local_temporaries:
            backward.append(ast.Assign([ast.Name(self.adjoint(target), ast.Store())],
                                       ast.Constant(0.0)))
        if depth == 0 and target not in self.bound:  # no earlier value: nothing to save
            self.bound.add(target)
            return [statement], backward
        self.bound.add(target)
        return [_marker("save", target), statement], backward + [_marker("restore", target)]

    # -- one assignment ------------------------------------------------------------
    def differentiate(self, statement: ast.stmt, top: bool) -> list[ast.stmt]:
        if not isinstance(statement, ast.Assign):
            return []  # print(...), assert: no derivative
        target = statement.targets[0].id
        if target not in self.active or (top and target not in self.written):
            return []  # inactive, or its adjoint is zero
        adjoint = Code.name(self.adjoint(target))
        value = statement.value
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
        arrays = {n for n in names if self.is_array(n)}
        with array_mode(bool(arrays) or self.is_array(target)):
            partials = rule.partials_at(tuple(wrap(a) for a in atoms), Code.name(target))
            result = []
            for atom, partial in zip(atoms, partials):
                if isinstance(atom, ast.Name) and atom.id in self.active:
                    contribution = mul(adjoint, self.reuse(partial))
                    if self.is_array(target) and not (isinstance(contribution, (int, float))
                                                      and contribution == 0):
                        contribution = self.unbroadcast(contribution, atom.id, arrays)
                    result += self.accumulate(atom.id, contribution, statement, top)
        return result

    def reuse(self, partial):
        """``partial`` reading forward values for the subexpressions the forward sweep
        already computed (``math.cos(x)`` -> ``c`` after ``c = math.cos(x)``)."""
        if not isinstance(partial, Code) or not self.computed:
            return partial
        computed = self.computed

        class Reuse(ast.NodeTransformer):
            def visit(self, node):
                if isinstance(node, ast.expr) and not isinstance(node, (ast.Name, ast.Constant)):
                    name = computed.get(ast.dump(node))
                    if name is not None:
                        return ast.Name(name, ast.Load())
                return super().visit(node)
        node = Reuse().visit(copy.deepcopy(partial.node))
        return wrap(node)

    def unbroadcast(self, contribution, operand: str, arrays: set):
        """An elementwise result's adjoint, summed back to the shape of ``operand``: all
        of it for a number, the broadcast axes for an array another operand stretched."""
        if operand not in arrays:
            return call("numpy.sum", contribution)
        if arrays - {operand}:
            return Code(ast.Call(self.helper("unbroadcast").node,
                                 [node_of(contribution), ast.Name(operand, ast.Load())], []))
        return contribution

    def array_rule(self, statement: ast.Assign, rule, adjoint: Code, top: bool) -> list[ast.stmt]:
        """``y = f(a, ...)`` with a vector-Jacobian rule: each differentiable argument's
        adjoint accumulates the rule's contribution."""
        from .analyse import _sequence_kind
        from .array_rules import VJP, RuleUseError, index_value
        target, value = statement.targets[0].id, statement.value
        if isinstance(value, ast.BinOp):
            arguments = dict(zip(rule.params, [value.left, value.right]))
        elif isinstance(value, ast.Subscript):
            arguments = {"array": value.value, "index": index_value(value.slice)}
        else:
            arguments = bind(rule, value).arguments
        of = lambda node: self.kinds.get(node.id, SCALAR) if isinstance(node, ast.Name) else SCALAR
        kinds = {name: _sequence_kind(node, of) for name, node in arguments.items()}
        g, result = adjoint, []
        if rule.shaped and (not top or target in self.placeholders):
            # the adjoint may still be the 0.0 it was initialised with: give it its shape
            shaped = self.namer.fresh(self.adjoint(target) + "_full")
            self.function.synthetic.add(shaped)
            result.append(ast.Assign([ast.Name(shaped, ast.Store())], call(
                "numpy.broadcast_to", adjoint, call("numpy.shape", Code.name(target))).node))
            set_anno(result[-1], "grad_of", ast.unparse(statement))
            g = Code.name(shaped)
        helper = lambda name: self.helper(name)
        vjp = VJP(rule, arguments, kinds, g, Code.name(target), helper)
        try:
            with array_mode():
                contributions = rule.vjp(vjp)
        except RuleUseError as error:
            raise located(KindError, str(error), statement,
                          get_anno(statement, "where", self.function.parsed)) from None
        for key, contribution in contributions.items():
            node = _argument_at(arguments, key)
            if isinstance(node, ast.Name) and node.id in self.active:
                result += self.accumulate(node.id, contribution, statement, top)
        return result if len(result) > (g is not adjoint) else []

    def recursive_call(self, statement: ast.Assign, adjoint: Code, top: bool) -> list[ast.stmt]:
        """``y = f(a, b)`` with f recursive: ``d_a, d_b = f_vjp(a, b, b_y)``, then the
        adjoints of the active arguments accumulate ``d_a``, ``d_b``."""
        from .pipeline import vjp_cell
        call = statement.value
        callee = get_anno(call, "callee")
        code = callee.__code__
        params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        active = [i for i, a in enumerate(call.args)
                  if isinstance(a, ast.Name) and a.id in self.active]
        if not active:
            return []
        wrt = tuple(params[i] for i in active)
        key = (callee, wrt)
        if key not in self.vjps:
            name = self.namer.fresh(f"{callee.__name__}_vjp")
            self.function.parsed.inject(name, vjp_cell(callee, wrt), ("vjp", callee, wrt))
            self.vjps[key] = name
        pieces = [self.namer.fresh(f"d_{params[i]}") for i in active]
        unpack = ast.Tuple([ast.Name(p, ast.Store()) for p in pieces], ast.Store())
        vjp_call = ast.Call(ast.Name(self.vjps[key], ast.Load()),
                            [copy.deepcopy(a) for a in call.args] + [node_of(adjoint)], [])
        result = [ast.Assign([unpack], vjp_call)]
        set_anno(result[0], "grad_of", ast.unparse(statement))
        for index, piece in zip(active, pieces):
            result += self.accumulate(call.args[index].id, Code.name(piece), statement, top)
        return result

    def accumulate(self, variable: str, contribution, grad_of, top: bool) -> list[ast.stmt]:
        if isinstance(contribution, (int, float)) and contribution == 0 and grad_of:
            return []
        target = ast.Name(self.adjoint(variable), ast.Store())
        if not top and variable in self.local_temporaries:
            statement = ast.Assign([target], node_of(contribution))  # its one contribution
        elif variable in self.written or not top:
            subtracted = negated(contribution)
            op, operand = (ast.Sub(), subtracted) if subtracted is not None else (ast.Add(), contribution)
            if self.is_array(variable):
                # b = b + e, never in place: b may be the very array another adjoint holds
                load = ast.Name(target.id, ast.Load())
                statement = ast.Assign([target], ast.BinOp(load, op, node_of(operand)))
            else:  # b -= e reads better than b += -(e)
                statement = ast.AugAssign(target, op, node_of(operand))
        else:
            statement = ast.Assign([target], node_of(contribution))
            self.written.add(variable)
        if grad_of is not None:
            set_anno(statement, "grad_of", ast.unparse(grad_of))
        return [statement]

    # -- tape operations, decided last ---------------------------------------------
    def materialize(self, forward, backward) -> tuple[list, list]:
        """Replace the markers by tape operations for the variables the backward sweep
        reads, then drop replays that do nothing (with the counting that fed them)."""
        # Recomputations stay only for temporaries the backward sweep reads.
        if self.redone:
            backward = _without_redos(backward, _needed(_without_redos(copy.deepcopy(backward), set())))
        needed = _needed(backward)
        saved: list[str] = []
        forward = self.replace_markers(forward, needed, saved)
        backward = _drop_empty(self.replace_markers(backward, needed, saved))
        live = {id(n) for s in backward for n in ast.walk(s)}
        dropped = {id(s) for replay, counting in self.loops if id(replay) not in live
                   for s in counting}
        forward = _remove(forward, dropped)
        uses_tape = any(isinstance(n, ast.Name) and n.id == self.tape
                        for s in forward + backward for n in ast.walk(s))
        if not uses_tape:  # no saved values, no counts of repeated loops
            return forward, backward
        args = self.function.args
        parameters = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        prelude = [ast.Assign([ast.Name(self.tape, ast.Store())], ast.List([], ast.Load()))]
        # A variable first bound inside a compound statement has no old value to save
        # the first time: bind it to None up front.
        prelude += [ast.Assign([ast.Name(v, ast.Store())], ast.Constant(None))
                    for v in dict.fromkeys(saved)
                    if v not in parameters and not _bound_before_compounds(v, forward)]
        return prelude + forward, backward

    def replace_markers(self, statements, needed, saved) -> list[ast.stmt]:
        result = []
        for statement in statements:
            kind = get_anno(statement, "marker")
            if kind is None:
                for field in ("body", "orelse"):
                    if isinstance(getattr(statement, field, None), list) and field in statement._fields:
                        setattr(statement, field, self.replace_markers(
                            getattr(statement, field), needed, saved) or
                            ([ast.Pass()] if field == "body" else []))
                result.append(statement)
                continue
            variable = get_anno(statement, "variable")
            if kind == "save" and variable in needed:
                saved.append(variable)
                result.append(self.tape_call("append", ast.Name(variable, ast.Load())))
            elif kind == "restore" and variable in needed:
                result.append(ast.Assign([ast.Name(variable, ast.Store())], self.tape_call("pop")))
            elif kind == "save_targets":
                loop = get_anno(statement, "loop")
                for name in variable.split(","):
                    if name in needed:
                        saved.append(name)
                        fresh = self.namer.fresh(name + "_next")
                        _rename_target(loop, name, fresh)
                        result.append(self.tape_call("append", ast.Name(name, ast.Load())))
                        result.append(ast.Assign([ast.Name(name, ast.Store())],
                                                 ast.Name(fresh, ast.Load())))
        return result


# NumPy functions and helpers whose result is always a new array.
_FRESH = {"numpy.full_like", "numpy.outer", "numpy.dot", "numpy.einsum", "numpy.cross",
          "numpy.tensordot", "numpy.linalg.solve", "numpy.where", "scatter", "zero_item",
          "matmul_vjp", "diagonal_vjp", "numpy.zeros_like"}


def _fresh(value) -> bool:
    """Whether an adjoint's last value is certainly an array of its own."""
    if isinstance(value, (ast.BinOp, ast.UnaryOp)):
        return True
    if isinstance(value, ast.Call):
        name = ast.unparse(value.func)
        return name in _FRESH or name.rstrip("_0123456789") in _FRESH
    return False


def _without_redos(statements: list, keep: set) -> list:
    """``statements`` without the recomputations of temporaries not in ``keep``."""
    result = []
    for statement in statements:
        if get_anno(statement, "redo") and statement.targets[0].id not in keep:
            continue
        if isinstance(statement, _COMPOUND):  # in place: loops are known by identity
            statement.body = _without_redos(statement.body, keep)
            statement.orelse = _without_redos(statement.orelse, keep)
        result.append(statement)
    return result


def _argument_at(arguments: dict, key):
    """The argument node a contribution is for: ``"a"``, or ``("arrays", 1)`` for an
    element of a list argument (a path of positions for nested lists)."""
    if not isinstance(key, tuple):
        return arguments.get(key)
    node = arguments.get(key[0])
    for position in key[1] if isinstance(key[1], tuple) else (key[1],):
        if not isinstance(node, (ast.List, ast.Tuple)):
            return None
        node = node.elts[position]
    return node


def _single_use_temporaries(function: Function) -> set[str]:
    """Synthetic variables assigned once and read once, by a statement of the same block
    (not nested deeper, where the read might not happen)."""
    stores, loads = name_counts(function.body)
    found = set()

    def visit(block):
        read_here = {n.id for s in block if not isinstance(s, _COMPOUND) for n in ast.walk(s)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for statement in block:
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
                name = statement.targets[0].id
                # read once in all, and that read is a plain statement of this block
                if name in function.synthetic and stores.get(name) == 1 \
                        and loads.get(name) == 1 and name in read_here:
                    found.add(name)
            for field in ("body", "orelse"):
                nested = getattr(statement, field, None)
                if isinstance(nested, list) and isinstance(statement, _COMPOUND):
                    visit(nested)
    visit(function.body)
    return found


def _needed(backward: list[ast.stmt]) -> set[str]:
    """The primal names the backward sweep reads, not counting replays that will turn
    out empty (a fixed point: a replay holds something once a restore in it is needed)."""
    def reads(node) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Load)}

    def collect(statements, needed) -> tuple[set, bool]:
        names, content = set(), False
        for statement in statements:
            kind = get_anno(statement, "marker")
            if kind is not None:
                content |= kind == "restore" and get_anno(statement, "variable") in needed
                continue
            if isinstance(statement, (ast.If, ast.For, ast.While)):
                inner, has = collect(statement.body + statement.orelse, needed)
                if has:
                    header = statement.test if not isinstance(statement, ast.For) else statement.iter
                    names |= inner | reads(header)
                    content = True
                continue
            if not isinstance(statement, ast.Pass):
                names |= reads(statement)
                content = True
        return names, content

    needed: set[str] = set()
    while (found := collect(backward, needed)[0]) != needed:
        needed = found
    return needed


def _short(value: ast.expr) -> str:
    from .lower import _operation_name
    return _operation_name(value)


def _same_place(new: ast.AST, old: ast.AST) -> ast.AST:
    ast.copy_location(new, old)
    if get_anno(old, "line") is not None:
        set_anno(new, "line", get_anno(old, "line"))
    return new


def _drop_empty(statements: list[ast.stmt]) -> list[ast.stmt]:
    """Backward ``if``/``for`` statements whose bodies do nothing are dropped."""
    result = []
    for statement in statements:
        if isinstance(statement, (ast.If, ast.For)):
            statement.body = [s for s in _drop_empty(statement.body) if not isinstance(s, ast.Pass)]
            statement.orelse = [s for s in _drop_empty(statement.orelse) if not isinstance(s, ast.Pass)]
            if not statement.body and not statement.orelse:
                continue
            if not statement.body:
                statement.body = [ast.Pass()]
        result.append(statement)
    return result


def _remove(statements, dropped: set) -> list[ast.stmt]:
    result = []
    for statement in statements:
        if id(statement) in dropped:
            continue
        for field in ("body", "orelse"):
            if isinstance(getattr(statement, field, None), list) and field in statement._fields:
                setattr(statement, field, _remove(getattr(statement, field), dropped))
        result.append(statement)
    return result


def _rename_target(loop: ast.For, old: str, new: str) -> None:
    for node in ast.walk(loop.target):
        if isinstance(node, ast.Name) and node.id == old:
            node.id = new


def _bound_before_compounds(variable: str, forward: list[ast.stmt]) -> bool:
    """Whether a top-level statement binds ``variable`` before any compound statement."""
    for statement in forward:
        if isinstance(statement, _COMPOUND):
            return False
        if isinstance(statement, ast.Assign) and statement.targets[0].id == variable:
            return True
    return False
