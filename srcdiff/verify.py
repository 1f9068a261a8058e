"""Verify every derivative rule against SymPy, and say how each one was proved.

For each rule and each parameter, the partial derivative written in the table is
evaluated with SymPy symbols (real; positive where the domain needs it) and compared with
``sympy.diff`` of the rule's primal, trying in turn:

1. ``simplify(rule - diff) == 0``
2. the same after ``rewrite(exp)`` (trigonometric and hyperbolic identities)
3. ``nsimplify`` of the difference
4. ``rule.equals(diff)``

and, whatever the symbolic outcome, numerically at random points of the parameter's
domain (mpmath, 30 digits): the primal must equal the Python callable, and the partial
must equal mpmath's numerical derivative of the primal. A partial no symbolic method can
prove (``%``, ``min``: SymPy leaves or returns piecewise/Heaviside forms) is reported as
proved ``numerically``. A rule fails when any numeric check disagrees, or when SymPy's
derivative is a closed form the rule contradicts.

Requires the ``verify`` extra (``pip install srcdiff[verify]``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable, SupportsFloat

from .expr import sympy_mode
from .rules import RULES, Domain, Rule

SYMBOLIC_METHODS = ("simplify", "rewrite(exp)", "nsimplify", "equals")
NUMERIC = "numeric"


@dataclass
class Proof:
    """How one rule was proved: a method per parameter, or what went wrong."""

    rule: Rule
    methods: dict[str, str] = field(default_factory=dict)  # parameter -> method
    failures: list[str] = field(default_factory=list)
    points: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def line(self) -> str:
        status = "ok  " if self.ok else "FAIL"
        how = ", ".join(f"d/d{p}: {m}" for p, m in self.methods.items())
        text = f"{status} {self.rule.name:<16} {how}  ({self.points} points)"
        return text + "".join(f"\n     {failure}" for failure in self.failures)


def sample(domain: Domain, rng: random.Random) -> float:
    value = rng.uniform(domain.low, domain.high)
    if domain.nonzero and rng.random() < 0.5:
        value = -value
    return value


def verify_rule(rule: Rule, points: int = 20, seed: int = 0) -> Proof:
    import mpmath
    import sympy

    proof = Proof(rule)
    symbols = [sympy.Symbol(p, **d.assumptions()) for p, d in zip(rule.params, rule.domain)]
    with sympy_mode(sympy):
        primal = rule.primal(*symbols) if rule.primal is not None else None
        symbolic = rule.partials_at(tuple(symbols), primal) if primal is not None else None
    for index, parameter in enumerate(rule.params):
        proof.methods[parameter] = NUMERIC
        if symbolic is not None:
            method = _prove(sympy, sympy.sympify(symbolic[index]),
                            sympy.diff(primal, symbols[index]))
            if method is not None:
                proof.methods[parameter] = method
    _check_numerically(rule, primal, symbols, proof, points, seed, mpmath, sympy)
    return proof


def _prove(sympy: Any, claimed: Any, reference: Any) -> str | None:
    """The first symbolic method that shows ``claimed == reference``, or None."""
    if reference.has(sympy.Derivative):
        return None  # SymPy cannot differentiate it (Mod, floor): numeric only
    difference = claimed - reference
    attempts = (
        ("simplify", lambda: sympy.simplify(difference) == 0),
        ("rewrite(exp)", lambda: sympy.simplify(difference.rewrite(sympy.exp)) == 0),
        ("nsimplify", lambda: sympy.nsimplify(sympy.simplify(difference)) == 0),
        ("equals", lambda: claimed.equals(reference) is True),
    )
    for method, attempt in attempts:
        try:
            if attempt():
                return method
        except (TypeError, ValueError, NotImplementedError, AttributeError):
            continue
    return None


def _check_numerically(rule: Rule, primal: Any, symbols: Any, proof: Proof, points: int, seed: int,
                       mpmath: Any, sympy: Any) -> None:
    func = rule.func
    assert func is not None  # a registered rule (only analyse.RECURSIVE has none)
    rng = random.Random(f"{rule.name}/{rule.arity}/{seed}")
    if primal is not None:
        evaluate = sympy.lambdify(symbols, primal, modules="mpmath")
    else:  # no SymPy counterpart: differentiate the Python callable itself
        evaluate = lambda *a: mpmath.mpf(float(func(*(float(v) for v in a))))
    tolerance = 1e-9 if primal is not None else 1e-5
    with mpmath.workdps(30):
        for _ in range(points):
            point = [sample(d, rng) for d in rule.domain]
            actual = func(*point)
            if primal is not None:
                expected = evaluate(*point)
                if not _close(actual, expected, 1e-12):
                    proof.failures.append(f"at {point}: {rule.name} gives {actual}, its "
                                          f"SymPy primal {mpmath.nstr(expected, 17)}")
                    break
            partials = rule.partials_at(tuple(point), actual)
            for index, parameter in enumerate(rule.params):
                derivative = _numeric_partial(mpmath, evaluate, point, index, primal is None)
                if not _close(float(partials[index]), derivative, tolerance):
                    proof.failures.append(
                        f"at {point}: d/d{parameter} is {float(partials[index])} by the rule, "
                        f"{mpmath.nstr(derivative, 17)} numerically")
            if proof.failures:
                break
            proof.points += 1


def _numeric_partial(mpmath: Any, evaluate: Callable[..., Any], point: list[Any], index: int,
                     float_only: bool) -> Any:
    def along(t: Any) -> Any:
        moved = list(point)
        moved[index] = t
        return evaluate(*moved)
    if float_only:  # the callable computes in floats: a central difference is all we have
        h = 1e-6 * max(1.0, abs(point[index]))
        return (along(point[index] + h) - along(point[index] - h)) / (2 * h)
    return mpmath.diff(along, mpmath.mpf(point[index]))


def _close(actual: SupportsFloat, expected: SupportsFloat, tolerance: float) -> bool:
    actual, expected = float(actual), float(expected)
    if math.isnan(actual) or math.isnan(expected):
        return False
    return abs(actual - expected) <= tolerance * max(1.0, abs(expected))


def verify_all(rules: Iterable[Rule] | None = None, points: int = 20) -> list[Proof]:
    if rules is None:
        RULES.load_extensions(everything=True)  # NumPy's elementwise rules too, if installed
        rules = RULES
    return [verify_rule(rule, points) for rule in rules]


def report(proofs: list[Proof]) -> str:
    lines = [proof.line() for proof in proofs]
    proved = sum(p.ok for p in proofs)
    lines.append(f"{proved} of {len(proofs)} rules verified")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(verify_all()))
