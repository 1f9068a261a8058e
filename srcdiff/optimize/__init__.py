"""Optimisation: the same computation with less work, every rewrite proved from def-use facts.

Two passes work on the primal's three-address form, before differentiation:

* ``hoist.hoist``: loop-invariant temporaries computed once, before the loop;
* ``cse.eliminate_common_subexpressions``: a repeated computation reuses the first result.

Five work on the generated function, after differentiation, and run in turn until none
changes anything:

* ``propagate.propagate``: copies and numbers of synthetic variables, in every block
  (available copies);
* ``simplify.simplify``: backward-sweep expressions rebuilt through ``srcdiff.expr``'s
  algebra (``1.0 * e`` -> ``e``, ``0 * e`` -> ``0``, ``a * (1 / b)`` -> ``a / b``);
* ``broadcasts.fold_broadcasts`` (array code): the adjoint a sum or mean stretches to its
  input's shape (``numpy.full_like``, ``numpy.broadcast_to``) not materialised where a
  product of that shape reads it;
* ``dead_code.eliminate_dead_code``: assignments nothing reads (liveness), unless they
  can raise;
* ``coalesce.coalesce``: ``t = e; y = t`` becomes ``y = e`` when nothing reads ``t`` after.

One works last: ``fuse.fuse`` writes a temporary read once into the expression that reads
it, in finished code of numbers, in both modes (CPython pays a store and a load per name;
reverse mode keeps its adjoints' statements as they are), and ``fuse.fuse_arrays`` a
temporary array of the forward sweep into the next statement, its one reader, in
gradients of arrays (freed as soon as it is read). ``accumulate.accumulate`` comes after
it, in gradients of arrays: a loop's backward sweep adding the adjoint of ``X[i]`` into
``X``'s adjoint pass after pass adds it in place where no other name can hold that
array (each pass made a new one: quadratic in the passes).

The reverse pass makes four decisions of its own, from the same facts: partials reading
values the forward sweep computed (``reuse``), temporaries recomputed in a loop's
backward sweep instead of taped (``rematerialize``), item assignments to an array
the function made, that nothing else can see, made in place and undone by the backward
sweep (``in_place``, marked by ``analyse``), and values it reads only for their shape
taped as stand-ins of that shape (``shape_only``). Each of the thirteen can be switched
off alone (``pipeline.generate(..., disable=...)``); the tests compare every setting.
The user's own statements are never simplified, only removed when dead and harmless.

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

from collections.abc import Collection

from ..dataflow import NameCache
from ..ir import Function, differs
from .coalesce import coalesce
from .cse import eliminate_common_subexpressions
from .broadcasts import fold_broadcasts
from .dead_code import eliminate_dead_code
from .hoist import hoist
from .propagate import propagate
from .simplify import simplify

MAX_ROUNDS = 100  # each round removes or simplifies something; far more means a bug

PASSES = {"propagate": propagate, "simplify": simplify, "broadcasts": fold_broadcasts,
          "dead_code": eliminate_dead_code, "coalesce": coalesce}

# the passes that take the optimiser's index of names (a NameCache) as a second argument
_INDEXED = {propagate, eliminate_dead_code, coalesce}

__all__ = ["optimize", "hoist", "eliminate_common_subexpressions", "PASSES"]


def optimize(function: Function, enabled: Collection[str] = frozenset(PASSES)) -> Function:
    """Run the ``enabled`` passes until none of them changes anything."""
    passes = [p for name, p in PASSES.items() if name in enabled]
    if not passes:
        return function
    # Runs in a row that changed nothing: once every pass has run on the body as it is
    # and left it, a pass would find it as it left it, and leave it again (a pass's
    # result depends on the body alone; it builds new nodes for what it changes): the
    # rest of the round is skipped, where it used to run every pass once more.
    quiet = 0
    # The names each statement reads and writes, found once for every pass and round
    # (the passes never change a node in place; NameCache.CHECK verifies it in tests)
    cache = NameCache(shared=True)
    for _ in range(MAX_ROUNDS):
        for optimization in passes:
            if quiet == len(passes):
                return function
            new = optimization(function, cache) if optimization in _INDEXED \
                else optimization(function)
            quiet = 0 if differs(new.body, function.body) else quiet + 1
            function = new
        if quiet == len(passes):
            return function
    from ..errors import InternalError
    raise InternalError(f"the optimizer did not settle on {function.name} after "
                        f"{MAX_ROUNDS} rounds")
