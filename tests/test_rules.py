"""Every rule of the table, verified by SymPy: generated from the table, so a new rule is
checked without writing a new test."""

import ast
import math

import pytest

from srcdiff.expr import Code, render, sin
from srcdiff.rules import POSITIVE, RULES, RuleTable
from srcdiff.verify import NUMERIC, SYMBOLIC_METHODS, report, verify_all, verify_rule

RULES.load_extensions(everything=True)  # NumPy's elementwise rules are verified the same way
ALL_RULES = list(RULES)
# Rules SymPy cannot differentiate symbolically, with the reason: proved numerically.
NUMERIC_ONLY = {"a % b": "sympy.diff leaves Derivative(Mod(a, b)) unevaluated",
                "numpy.remainder": "the same rule as a % b",
                "math.fmod": "sympy.diff leaves the derivative of Mod(|x|, |y|) unevaluated",
                "numpy.fmod": "the same rule as math.fmod",
                "numpy.where": "its condition is a boolean, which SymPy cannot differentiate"}


@pytest.mark.parametrize("rule", ALL_RULES, ids=[f"{r.name}/{r.arity}" for r in ALL_RULES])
def test_rule_is_verified(rule):
    proof = verify_rule(rule)
    assert proof.ok, proof.line()
    assert proof.points >= 20
    expected_numeric = rule.name in NUMERIC_ONLY
    for parameter, method in proof.methods.items():
        if expected_numeric:
            assert method == NUMERIC
        else:
            assert method in SYMBOLIC_METHODS, f"{rule.name} d/d{parameter} only {method}"


@pytest.mark.parametrize("rule", ALL_RULES, ids=[f"{r.name}/{r.arity}" for r in ALL_RULES])
def test_rule_emits_valid_python(rule):
    args = tuple(Code.name(p) for p in rule.params)
    for partial in rule.partials_at(args, Code.name("out")):
        ast.parse(render(partial), mode="eval")


def _wrong_table():
    table = RuleTable()
    table.add(math.sin, lambda x: sin(x), lambda x: sin(x))  # d sin = cos, not sin
    table.add(math.log, lambda x: __import__("srcdiff.expr").expr.log(x),
              lambda x: 2 / x, (POSITIVE,))  # off by a factor of 2
    return table


def test_a_wrong_rule_is_caught():
    for rule in _wrong_table():
        proof = verify_rule(rule)
        assert not proof.ok
        assert proof.methods == {"x": NUMERIC}  # no symbolic method proved it either
        assert "by the rule" in proof.failures[0]


def test_a_family_of_rules_is_verified_at_several_arities_and_made_for_any():
    from srcdiff.rules import fsum_of
    listed = {(r.name, r.arity) for r in ALL_RULES}
    assert {("math.hypot", k) for k in (2, 3, 4, 5, 8)} <= listed
    assert {("math.fsum", k) for k in (1, 2, 5)} <= listed
    for func, arity in ((math.hypot, 11), (fsum_of, 7)):  # made on demand, verified alike
        rule = RULES.lookup(func, arity)
        assert rule.arity == arity and rule is RULES.lookup(func, arity)
        proof = verify_rule(rule)
        assert proof.ok and set(proof.methods.values()) == {"simplify"}, proof.line()
    assert (math.hypot, 11) not in RULES.rules  # not listed


def test_a_wrong_family_is_caught_at_each_arity():
    table = RuleTable()
    # hypot's partials off by a factor of 2
    table.family(math.hypot, lambda xs: __import__("srcdiff.expr").expr.sqrt(sum(x ** 2 for x in xs)),
                 lambda xs, out: tuple(2 * x / out for x in xs), RULES.families[math.hypot].domain,
                 1, (2, 6))
    proofs = [verify_rule(rule) for rule in table]
    assert [p.rule.arity for p in proofs] == [2, 6]
    assert not any(p.ok for p in proofs)
    assert all("by the rule" in p.failures[0] for p in proofs)


def test_a_rule_whose_primal_is_not_the_function_is_caught():
    table = RuleTable()
    # claims math.cos is sin: the derivative is consistent with the primal, but the
    # primal does not match the Python function it stands for
    from srcdiff.expr import cos
    table.add(math.cos, lambda x: sin(x), lambda x: cos(x))
    proof = verify_rule(next(iter(table)))
    assert not proof.ok and "SymPy primal" in proof.failures[0]


def test_report_names_the_method_of_every_rule():
    text = report(verify_all(ALL_RULES[:3]))
    assert "d/da: simplify" in text and "3 of 3 rules verified" in text


def test_user_rule_without_sympy_counterpart_is_checked_numerically():
    import srcdiff

    def softplus(x):
        return math.log1p(math.exp(x))

    from srcdiff.expr import exp
    rule = srcdiff.register_rule(softplus, lambda x: 1 / (1 + exp(-x)))
    try:
        proof = verify_rule(rule)
        assert proof.ok and proof.methods == {"x": NUMERIC}
        wrong = srcdiff.register_rule(softplus, lambda x: 1 / (1 + exp(x)))
        assert not verify_rule(wrong).ok
    finally:
        RULES.remove(softplus, 1)


def test_user_rule_that_cannot_become_code_is_refused():
    import srcdiff

    def softplus(x):
        return math.log1p(math.exp(x))

    with pytest.raises(srcdiff.SrcdiffError, match="srcdiff.expr"):
        srcdiff.register_rule(softplus, lambda x: 1 / (1 + math.exp(-x)))
    assert RULES.lookup(softplus, 1) is None


def test_user_rule_with_primal_is_proved_by_sympy():
    import srcdiff
    from srcdiff.expr import exp, log

    def softplus(x):
        return math.log1p(math.exp(x))

    rule = srcdiff.register_rule(softplus, lambda x: 1 / (1 + exp(-x)),
                                 primal=lambda x: log(1 + exp(x)))
    try:
        proof = verify_rule(rule)
        assert proof.ok and proof.methods["x"] in SYMBOLIC_METHODS
    finally:
        RULES.remove(softplus, 1)
