"""Stage 7, optimize: remove what differentiation leaves behind, to a fixed point.

Contract: takes any ``ir.Function`` and returns one that computes the same values with
fewer statements. The passes, each in its own module, run in order until none changes
anything:

* ``propagate.propagate``: top-level copies and constants of synthetic variables;
* ``simplify.simplify``: backward-sweep expressions rebuilt through ``srcdiff.expr``'s
  algebra (``1.0 * e`` -> ``e``, ``0 * e`` -> ``0``, ``a * (1 / b)`` -> ``a / b``);
* ``dead_code.eliminate_dead_code``: assignments nobody reads, unless they can raise;
* ``resets.fold_resets``: ``b_t = b; b = 0.0; ...; b += b_t`` in loop sweeps;
* ``propagate.propagate_in_loops``: copies of temporaries inside loops and branches.

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

from .dead_code import eliminate_dead_code
from .ir import Function, differs
from .propagate import propagate, propagate_in_loops
from .resets import fold_resets
from .simplify import simplify


MAX_ROUNDS = 100  # each round removes or simplifies something; far more means a bug

PASSES = {"propagate": propagate, "simplify": simplify, "dead_code": eliminate_dead_code,
          "resets": fold_resets, "propagate_in_loops": propagate_in_loops}


def optimize(function: Function, enabled=frozenset(PASSES)) -> Function:
    """Run the ``enabled`` passes until none of them changes anything."""
    passes = [p for name, p in PASSES.items() if name in enabled]
    if not passes:
        return function
    for _ in range(MAX_ROUNDS):
        changed = False
        for optimization in passes:
            new = optimization(function)
            changed |= differs(new.body, function.body)
            function = new
        if not changed:
            return function
    from .errors import InternalError
    raise InternalError(f"the optimizer did not settle on {function.name} after "
                        f"{MAX_ROUNDS} rounds")
