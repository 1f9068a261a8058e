"""Stage 7, optimize: remove what differentiation leaves behind, to a fixed point.

Contract: takes any ``ir.Function`` in straight-line form and returns one that computes
the same values with fewer statements. The passes, run in order until nothing changes:

* ``propagate``: a synthetic variable (a temporary or an adjoint) assigned once from a
  name or a number is replaced by that name or number (``b_g = b_h`` with ``b_h = 1.0``);
* ``simplify``: backward-sweep expressions are rebuilt through the algebra of
  ``srcdiff.expr`` (``1.0 * e`` -> ``e``, ``0 * e`` -> ``0``, ``a * (1 / b)`` -> ``a / b``);
* ``eliminate_dead_code``: assignments nobody reads are dropped, unless they compute a
  primitive that can raise (``log``, ``/``...): those stay, so the gradient fails where
  the function fails instead of returning a number where it is undefined.

The user's own statements are never simplified; only removed when dead.

>>> import ast
>>> from srcdiff.ir import Function, Namer
>>> body = ast.parse("f = x ** 2\\ng = math.exp(f)\\nh = g + 1\\nb_h = 1.0\\n"
...                  "b_g = b_h\\nb_f = b_g * g\\nb_x = b_f * (2 * x)\\nreturn b_x").body
>>> namer = Namer()
>>> adjoints = {namer.adjoint(v) for v in "hgfx"}
>>> function = Function("dh_dx", ast.parse("def f(x): pass").body[0].args, body, None,
...                     namer, synthetic=adjoints)
>>> print(optimize(function).source())
def dh_dx(x):
    f = x ** 2
    g = math.exp(f)
    b_x = g * (2 * x)
    return b_x
"""

from __future__ import annotations

import ast
import collections
import copy

from .expr import Code, add, div, mul, neg, node_of, power, select, sub, wrap
from .analyse import cannot_raise
from .ir import Function, get_anno, set_anno


MAX_ROUNDS = 100  # each round removes or simplifies something; far more means a bug


def optimize(function: Function) -> Function:
    """Run the passes until none of them changes anything."""
    for _ in range(MAX_ROUNDS):
        changed = False
        for optimization in PASSES:
            new = optimization(function)
            changed |= _differs(new.body, function.body)
            function = new
        if not changed:
            return function
    from .errors import InternalError
    raise InternalError(f"the optimizer did not settle on {function.name} after "
                        f"{MAX_ROUNDS} rounds")


def _differs(new: list, old: list) -> bool:
    """Whether a pass changed the body; passes build new nodes for what they change."""
    if len(new) != len(old):
        return True
    for a, b in zip(new, old):
        if a is not b:
            return True
        for field in ("body", "orelse"):
            if isinstance(getattr(a, field, None), list) and _differs(getattr(a, field), getattr(b, field)):
                return True
    return False


def _assignment_counts(body) -> collections.Counter:
    """How often each name is bound, anywhere (loop targets count as repeated)."""
    counts = collections.Counter()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] += 1
            if isinstance(node, (ast.AugAssign, ast.For)):
                target = node.target
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        counts[name.id] += 1
    return counts


def propagate(function: Function) -> Function:
    counts = _assignment_counts(function.body)
    replacements: dict[str, ast.expr] = {}
    body = []
    for statement in function.body:
        statement = _substitute(statement, replacements)
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            target, value = statement.targets[0].id, statement.value
            is_number = isinstance(wrap(value), (int, float))
            is_stable_name = isinstance(value, ast.Name) and counts[value.id] <= 1
            if target in function.synthetic and counts[target] == 1 and (
                    is_number or is_stable_name):
                replacements[target] = value
                continue
        body.append(statement)
    return function.replace(body=body)


class _Substitute(ast.NodeTransformer):
    def __init__(self, replacements):
        self.replacements = replacements

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.replacements:
            return ast.copy_location(_copy(self.replacements[node.id]), node)
        return node


def _copy(node):
    return copy.deepcopy(node)


def _substitute(statement, replacements):
    if not replacements or not any(isinstance(n, ast.Name) and n.id in replacements
                                   for n in ast.walk(statement)):
        return statement
    new = ast.fix_missing_locations(_Substitute(replacements).visit(copy.deepcopy(statement)))
    for node in ast.walk(new):  # what simplify should look at again
        if isinstance(node, ast.stmt):
            set_anno(node, "substituted", True)
    return new


def simplify(function: Function) -> Function:
    adjoints = set(function.namer.adjoints.values())
    return function.replace(body=_simplify_block(function.body, adjoints))


def _simplify_block(statements, adjoints) -> list[ast.stmt]:
    """Adjoint statements that propagation rewrote (the reverse pass builds the others
    already simplified) are rebuilt through the algebra of ``expr``."""
    body = []
    for statement in statements:
        if isinstance(statement, (ast.Assign, ast.AugAssign)) and _target(statement) in adjoints \
                and get_anno(statement, "substituted"):
            set_anno(statement, "substituted", False)
            simplified = node_of(rebuild(statement.value))
            if ast.unparse(simplified) != ast.unparse(statement.value):
                statement = copy.deepcopy(statement)
                statement.value = simplified
        elif isinstance(statement, (ast.If, ast.For, ast.While)):
            inner = _simplify_block(statement.body, adjoints)
            orelse = _simplify_block(statement.orelse, adjoints)
            if _differs(inner, statement.body) or _differs(orelse, statement.orelse):
                statement = copy.copy(statement)  # a new node only when something changed
                statement.body, statement.orelse = inner, orelse
        body.append(statement)
    return body


_BUILD = {ast.Add: add, ast.Sub: sub, ast.Mult: mul, ast.Div: div, ast.Pow: power}


def rebuild(node: ast.expr):
    """``node`` rebuilt bottom-up through the simplifying constructors of ``expr``."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BUILD:
        return _BUILD[type(node.op)](rebuild(node.left), rebuild(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return neg(rebuild(node.operand))
    if isinstance(node, ast.IfExp):
        return select(Code(node.test), rebuild(node.body), rebuild(node.orelse))
    return wrap(node)


def _target(statement) -> str | None:
    target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
    return target.id if isinstance(target, ast.Name) else None


def eliminate_dead_code(function: Function) -> Function:
    """Top-level assignments nobody reads later go; inside compound statements (where a
    loop may read a value before it is assigned again), assignments to a variable that
    nothing reads anywhere go. An assignment that may raise stays either way."""
    read = {n.id for s in function.body for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    body = [_without_unread(s, read, function.kinds) if isinstance(s, _COMPOUND) else s
            for s in function.body]
    live: set[str] = set()
    kept = []
    for statement in reversed(body):
        if isinstance(statement, (ast.Assign, ast.AugAssign)) and not (
                isinstance(statement, ast.Assign) and not isinstance(statement.targets[0], ast.Name)):
            target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
            if target.id not in live and (
                    isinstance(statement, ast.AugAssign) or cannot_raise(statement.value, function.kinds)):
                continue
            if isinstance(statement, ast.Assign):
                live.discard(target.id)
        live |= {n.id for n in ast.walk(statement)
                 if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if isinstance(statement, ast.AugAssign):
            live.add(statement.target.id)
        kept.append(statement)
    return function.replace(body=kept[::-1])


_COMPOUND = (ast.If, ast.For, ast.While)


def _without_unread(statement, read: set, kinds: dict):
    """``statement`` (a compound) without the assignments, at any depth, to variables
    never read; the same node when there are none."""
    changed = False
    new = copy.copy(statement)
    for field in ("body", "orelse"):
        block = []
        for inner in getattr(statement, field):
            if isinstance(inner, ast.Assign) and isinstance(inner.targets[0], ast.Name) \
                    and inner.targets[0].id not in read and cannot_raise(inner.value, kinds):
                changed = True
                continue
            if isinstance(inner, _COMPOUND):
                replaced = _without_unread(inner, read, kinds)
                changed |= replaced is not inner
                inner = replaced
            block.append(inner)
        if field == "body" and not block:
            block = [ast.Pass()]
        setattr(new, field, block)
    return new if changed else statement


def fold_resets(function: Function) -> Function:
    """``t = b; b = 0.0; ...; b += t`` with nothing between reading or writing ``b`` or
    ``t`` leaves ``b`` as it was: keep ``t = b`` only. The reverse pass writes this
    for ``y = y + e`` in a loop (computed into a temporary, then copied back)."""
    adjoints = set(function.namer.adjoints.values())
    body = _fold_block(function.body, adjoints)
    return function if body is function.body else function.replace(body=body)


def _fold_block(statements: list, adjoints: set) -> list:
    result, changed = [], False
    for statement in statements:
        if isinstance(statement, _COMPOUND):
            new = copy.copy(statement)
            new.body = _fold_block(statement.body, adjoints)
            new.orelse = _fold_block(statement.orelse, adjoints)
            if new.body is not statement.body or new.orelse is not statement.orelse:
                statement, changed = new, True
        result.append(statement)
    i = 0
    while i + 2 < len(result):
        first, reset = result[i], result[i + 1]
        if _is_copy_of_adjoint(first, adjoints) and _assigns_zero(reset, first.value.id):
            saved, adjoint = first.targets[0].id, first.value.id
            for k in range(i + 2, len(result)):
                later = result[k]
                if _adds(later, adjoint, saved):
                    del result[k], result[i + 1]
                    changed = True
                    break
                if isinstance(later, _COMPOUND) or any(
                        isinstance(n, ast.Name) and n.id in (saved, adjoint)
                        for n in ast.walk(later)):
                    break
        i += 1
    return result if changed else statements


def _is_copy_of_adjoint(statement, adjoints) -> bool:
    return isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) \
        and isinstance(statement.value, ast.Name) and statement.value.id in adjoints


def _assigns_zero(statement, name: str) -> bool:
    return isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) \
        and statement.targets[0].id == name and isinstance(statement.value, ast.Constant) \
        and statement.value.value == 0


def _adds(statement, adjoint: str, saved: str) -> bool:
    """``adjoint += saved`` or ``adjoint = adjoint + saved``."""
    if isinstance(statement, ast.AugAssign) and isinstance(statement.op, ast.Add):
        return isinstance(statement.target, ast.Name) and statement.target.id == adjoint \
            and isinstance(statement.value, ast.Name) and statement.value.id == saved
    if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) \
            and statement.targets[0].id == adjoint and isinstance(statement.value, ast.BinOp) \
            and isinstance(statement.value.op, ast.Add):
        left, right = statement.value.left, statement.value.right
        return isinstance(left, ast.Name) and left.id == adjoint \
            and isinstance(right, ast.Name) and right.id == saved
    return False


def propagate_in_loops(function: Function) -> Function:
    """Inside compound statements: ``t = b`` where ``t`` is a temporary assigned once and
    read only by later plain statements of the same block, before ``b`` changes: those
    reads read ``b``, and the copy goes."""
    counts = _assignment_counts(function.body)
    reads = collections.Counter(n.id for s in function.body for n in ast.walk(s)
                                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))
    body = [_propagate_compound(s, function.synthetic, counts, reads)
            if isinstance(s, _COMPOUND) else s for s in function.body]
    changed = any(a is not b for a, b in zip(body, function.body))
    return function.replace(body=body) if changed else function


def _propagate_compound(statement, synthetic, counts, reads):
    new = copy.copy(statement)
    changed = False
    for field in ("body", "orelse"):
        block = [_propagate_compound(s, synthetic, counts, reads)
                 if isinstance(s, _COMPOUND) else s for s in getattr(statement, field)]
        changed |= any(a is not b for a, b in zip(block, getattr(statement, field)))
        i = 0
        while i < len(block):
            replaced = _propagate_copy(block, i, synthetic, counts, reads)
            if replaced is not None:
                block, changed = replaced, True
            else:
                i += 1
        setattr(new, field, block)
    return new if changed else statement


def _propagate_copy(block, i, synthetic, counts, reads):
    first = block[i]
    if not (isinstance(first, ast.Assign) and isinstance(first.targets[0], ast.Name)
            and isinstance(first.value, ast.Name)):
        return None
    temporary, source = first.targets[0].id, first.value.id
    if temporary not in synthetic or counts[temporary] != 1:
        return None
    found, users = 0, []
    for k in range(i + 1, len(block)):
        later = block[k]
        if isinstance(later, _COMPOUND):
            return None  # a read in a nested block, or the source changed there
        names = [n for n in ast.walk(later) if isinstance(n, ast.Name)]
        here = sum(1 for n in names if n.id == temporary and isinstance(n.ctx, ast.Load))
        if here:
            users.append(k)
            found += here
        if found == reads[temporary]:
            break
        if any(n.id == source and isinstance(n.ctx, ast.Store) for n in names) or (
                isinstance(later, ast.AugAssign) and later.target.id == source):
            return None  # the source changes while the copy is still read
    if found != reads[temporary] or not users:
        return None
    result = list(block)
    for k in users:
        result[k] = _substitute(result[k], {temporary: ast.Name(source, ast.Load())})
    del result[i]
    reads[source] += found - 1
    reads[temporary] = 0
    return result


PASSES = (propagate, simplify, eliminate_dead_code, fold_resets, propagate_in_loops)
