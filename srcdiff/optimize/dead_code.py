"""Optimisation pass: dead-code elimination, from liveness.

An assignment whose targets no path reads afterwards (``dataflow.Liveness``, loops
solved to a fixed point) goes, when removing it cannot change what the function does:

* an adjoint (``b_x``) or any value of the backward sweep: nothing but the returned
  gradient observes them;
* a value of the forward sweep, when computing it cannot raise (``math.log`` and ``/``
  can: those stay, so the gradient fails exactly where the function fails) and it reads
  no name that may be unbound there;
* never a tape operation: a push and its pop come in pairs.

A branch left with nothing in it goes too, when its test cannot raise.

>>> import ast
>>> from srcdiff.ir import Function, Namer
>>> body = ast.parse('''
... t = x * 2
... u = math.log(x)
... for i in r:
...     v = t + 1
...     w = v
... return t
... ''').body
>>> function = Function("f", ast.parse("def f(x): pass").body[0].args, body, None, Namer())
>>> print(eliminate_dead_code(function).source())
def f(x):
    t = x * 2
    u = math.log(x)
    for i in r:
        pass
    return t
"""

from __future__ import annotations

import ast
import builtins
import copy
import types

from ..analyse import cannot_raise
from ..dataflow import COMPOUND, Liveness, NameCache, maybe_unbound, reads
from ..ir import Function, get_anno, walk_code
from ..kinds import Kind


def eliminate_dead_code(function: Function, cache: NameCache | None = None) -> Function:
    """``cache``: the names of the statements, where the caller keeps them (``optimize``)."""
    adjoints = function.namer.derivatives()  # adjoints and tangents
    # kinds matter only for array code (NumPy reports errors on arrays as nan)
    kinds = function.kinds if any(k.is_array for k in function.kinds.values()) else None
    unbound: list[dict[int, set[str]]] = []  # maybe_unbound's verdicts, computed when first needed
    unassigned: list[set[str]] = []  # locals nothing binds any more, read nonetheless
    cache = cache or NameCache()  # the statements' names, found once for both analyses

    kept: set[str] = set()  # locals whose assignments stay, dead or not (``_orphaned``)

    def removable(statement: ast.stmt) -> bool:
        if isinstance(statement, ast.AugAssign):  # accumulations are the backward sweep's
            return not (isinstance(statement.target, ast.Name) and statement.target.id in kept)
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            return False
        target = statement.targets[0]
        if isinstance(target, ast.Name) and target.id in kept:
            return False
        if isinstance(target, ast.Name) and target.id in adjoints or get_anno(statement, "grad_of"):
            return not _pops(statement)
        if not cannot_raise(statement.value, kinds):
            return False
        if not unbound:
            args = function.args
            parameters = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            unbound.append(maybe_unbound(function.body, parameters, cache=cache))
            # a local whose every assignment has gone (dead) is still unbound where read:
            # reading it raises (UnboundLocalError), as reading a name nothing binds does
            loads, stores = cache.of_body(function.body)  # walked already, by maybe_unbound
            assigned_now = stores | set(parameters)
            unassigned.append({name for name in loads
                               if name not in assigned_now and not _free(function, name)})
        if any(name in unassigned[0] for name in reads(statement.value)):
            return False
        return id(statement) not in unbound[0]  # reading an unbound name raises

    while True:
        dead = Liveness(function.body, set(), removable=removable, cache=cache).dead
        # A local read where no assignment reaches (``z`` set in one branch, read in the
        # other, where Python raises UnboundLocalError) loses every assignment here, all
        # dead: it would then be no local of the generated code but a global, not found
        # (NameError; and grad(grad(f)) would refuse the gradient's code: campaign
        # scalar seed 838491). Its assignments stay, and what they read.
        orphaned = _orphaned(function, dead, cache) - kept if dead else set()
        if not orphaned:
            break
        kept.update(orphaned)
    if not dead:
        return function
    return function.replace(body=_without(function.body, set(dead), kinds or {}))


def _orphaned(function: Function, dead: dict[int, ast.stmt], cache: NameCache) -> set[str]:
    """The locals that the statements not in ``dead`` read and only statements in
    ``dead`` assign."""
    loads, stores = cache.of_body(function.body, skip=dead)
    gone = {name for statement in dead.values() for name in cache(statement)[1]}
    args = function.args
    stores.update(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)
    return {name for name in loads & gone if name not in stores and not _free(function, name)}


def _free(function: Function, name: str) -> bool:
    """Whether ``name`` is bound outside the function: a global, a closure's or srcdiff's
    own cell, a builtin, a module derivatives call."""
    from ..compile import MODULES
    parsed = function.parsed
    if parsed is None or name in MODULES:
        return True
    if name in parsed.injected or name in parsed.closure or name in parsed.globals:
        return True
    namespace = parsed.globals.get("__builtins__", builtins)
    return name in (vars(namespace) if isinstance(namespace, types.ModuleType) else namespace)


def _pops(statement: ast.stmt) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "pop" for n in walk_code(statement))


def _without(statements: list[ast.stmt], removable: set[int], kinds: dict[str, Kind]) -> list[ast.stmt]:
    result = []
    for statement in statements:
        if id(statement) in removable:
            continue
        if isinstance(statement, COMPOUND):
            body = _without(statement.body, removable, kinds)
            orelse = _without(statement.orelse, removable, kinds)
            if len(body) != len(statement.body) or len(orelse) != len(statement.orelse) or \
                    any(a is not b for a, b in zip(body + orelse, statement.body + statement.orelse)):
                new = copy.copy(statement)
                new.body, new.orelse = body or [ast.Pass()], orelse
                statement = new
            if isinstance(statement, ast.If) and _empty(statement.body) and \
                    _empty(statement.orelse) and _harmless(statement.test, kinds):
                continue
        result.append(statement)
    return result


def _empty(statements: list[ast.stmt]) -> bool:
    return all(isinstance(s, ast.Pass) for s in statements)


def _harmless(test: ast.expr, kinds: dict[str, Kind]) -> bool:
    """A test that cannot raise: a name (bound, as every test is computed before its
    branch) holding a number, possibly negated, or a comparison of such names and
    numbers. The truth of an array raises."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test = test.operand
    if isinstance(test, ast.Compare):  # of numbers: an array's truth would raise
        return all(isinstance(n, ast.Constant) or (
            isinstance(n, ast.Name) and not (n.id in kinds and kinds[n.id].is_array))
            for n in [test.left, *test.comparators])
    return isinstance(test, ast.Name) and not (test.id in kinds and kinds[test.id].is_array)
