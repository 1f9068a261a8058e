"""Every NumPy rule, checked end to end against central differences, with no test
written per rule: vector-Jacobian rules from the examples each carries, elementwise
rules with argument shapes that broadcast, drawn by Hypothesis.

A probe ``numpy.sum(W * f(x0, x1))`` with a random weight ``W`` of the result's shape
turns any array function into a number whose gradient is the rule's vector-Jacobian
product with ``W``.
"""

import operator

import numpy
import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.extra import numpy as hnp

import srcdiff
from srcdiff.rules import RULES

from arrays import assert_gradients_close, numeric_gradient, program
from sharding import shared_examples

RULES.load_extensions(everything=True)
ARRAY_RULES = [r for r in RULES.array_rules() if r.examples]
ELEMENTWISE = [r for r in RULES if r.name.startswith(("numpy.", "scipy."))]


def call_text(rule, names, example) -> str:
    """The call of ``rule`` on the variables ``names``, as source; a list (``appended``)
    read as the array NumPy makes of it."""
    if rule.func in (srcdiff.runtime.appended, srcdiff.runtime.appended_tangent):
        return f"srcdiff.runtime.list_array({_call_text(rule, names, example)})"
    return _call_text(rule, names, example)


def _call_text(rule, names, example) -> str:
    literals = [repr(v) for v in example.literals]
    keywords = [f"{k}={v!r}" for k, v in example.keywords.items()]
    if example.named:  # the last differentiable arguments, by keyword (initial=x1)
        split = len(names) - len(example.named)
        keywords += [f"{k}={n}" for k, n in zip(example.named, names[split:])]
        names = names[:split]
    if rule.func is operator.matmul:
        return f"({names[0]} @ {names[1]})"
    if rule.variadic:  # einsum(subscripts, *operands)
        return f"{rule.name}({', '.join(literals + names + keywords)})"
    if rule.sequence is not None:
        return f"{rule.name}([{', '.join(names)}]{''.join(', ' + k for k in keywords)})"
    positional = names + literals
    for position, value in example.inserted:  # constants between the arrays
        positional.insert(position, repr(value))
    return f"{rule.name}({', '.join(positional + keywords)})"


def sample(shape, rng, example):
    low, high = (0.5, 2.0) if example.positive else (-2.0, 2.0)
    if shape == ():
        return float(rng.uniform(low, high))
    value = rng.uniform(low, high, size=shape)
    if example.spd:
        return value @ value.T + shape[0] * numpy.eye(shape[0])
    if example.matrix and len(shape) == 2 and shape[0] == shape[1]:
        value += shape[0] * numpy.eye(shape[0])
    return value


def check(rule, example, rng):
    names = [f"x{i}" for i in range(len(example.shapes))]
    args = [sample(s, rng, example) for s in example.shapes]
    expression = call_text(rule, names, example)
    source = f"def probe({', '.join(names)}):\n    return numpy.sum(W * {expression})\n"
    # srcdiff.runtime.item_of: x.item() (normalize writes the method as that helper)
    value = eval(expression, {"numpy": numpy, "scipy": __import__("scipy"), "srcdiff": srcdiff},
                 dict(zip(names, args)))
    weight = rng.uniform(-1.0, 1.0, size=numpy.shape(value))
    probe = program(source, W=weight, srcdiff=srcdiff)
    wrt = tuple(range(len(args)))
    gradient = srcdiff.grad(probe, wrt=wrt)(*args)
    expected = numeric_gradient(probe, args, wrt)
    assert_gradients_close(gradient, expected, args, wrt)


CASES = [(rule, example) for rule in ARRAY_RULES for example in rule.examples]


@pytest.mark.parametrize("rule, example", CASES,
                         ids=[f"{r.name}-{i}" for r in ARRAY_RULES for i in range(len(r.examples))])
def test_array_rule_matches_central_differences(rule, example):
    check(rule, example, numpy.random.default_rng(len(str(example))))


def test_every_array_rule_has_examples():
    """A rule without examples would go unchecked; indexing and item assignment are
    tested in tests/test_arrays.py, the eigenvectors the rules of numpy.linalg.eigvalsh
    call in tests/test_numpy_more.py, where numpy.linalg.eigh's refusal is too, and
    math.fsum of a 1-D array (a Python float, not of the array's dtype) in
    tests/test_lists.py; numpy.logspace, a constant refused where it depends on what is
    differentiated, in tests/test_numpy_more.py."""
    unchecked = [r.name for r in RULES.array_rules() if not r.examples]
    assert sorted(unchecked) == ["eigenvectors", "indexing", "item assignment", "math.fsum",
                                 "numpy.linalg.eigh", "numpy.logspace"]


# --- elementwise rules, with shapes that broadcast --------------------------------------

def _domain_values(domain, shape, data):
    low, high = domain.low, domain.high
    values = data.draw(hnp.arrays(numpy.float64, shape, elements=st.floats(
        low, high, allow_nan=False, allow_infinity=False)))
    if domain.nonzero:  # either sign, away from zero
        signs = data.draw(hnp.arrays(numpy.float64, shape, elements=st.sampled_from([-1.0, 1.0])))
        values = values * signs
    return values


def _away_from_ties(rule, args):
    """Comparisons decide the branch (maximum, clip...): the numerical oracle needs
    operands that are not within a step of each other."""
    arrays = numpy.broadcast_arrays(*args)
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            if numpy.any(numpy.abs(arrays[i] - arrays[j]) < 1e-3):
                return False
    return True


@pytest.mark.parametrize("rule", ELEMENTWISE, ids=[r.name for r in ELEMENTWISE])
@shared_examples(25)  # per rule: about 1,200 generated gradients in all (CI: shared out)
@given(data=st.data())
def test_elementwise_rule_broadcasts(rule, data):
    arity = rule.arity
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=arity, max_dims=3,
                                                         max_side=3)).input_shapes
    # some operands are plain floats, the rest arrays
    as_float = data.draw(st.lists(st.booleans(), min_size=arity, max_size=arity))
    args = []
    for shape, scalar, domain in zip(shapes, as_float, rule.domain):
        values = _domain_values(domain, () if scalar else shape, data)
        args.append(float(values) if scalar else values)
    names = [f"x{i}" for i in range(arity)]
    if rule.name in ("numpy.maximum", "numpy.minimum", "numpy.fmax", "numpy.fmin", "numpy.clip"):
        assume(_away_from_ties(rule, args))
    if rule.name in ("numpy.remainder", "numpy.fmod"):  # a jump where a / b is an integer
        ratio = numpy.divide(*args)
        assume(numpy.all(numpy.abs(ratio - numpy.round(ratio)) > 1e-3))
    value = rule.func(*args)
    weight = numpy.random.default_rng(0).uniform(-1.0, 1.0, size=numpy.shape(value))
    probe = program(f"def probe({', '.join(names)}):\n"
                    f"    return numpy.sum(W * {rule.name}({', '.join(names)}))\n", W=weight)
    wrt = tuple(i for i in range(arity) if not (rule.func is numpy.where and i == 0))
    gradient = srcdiff.grad(probe, wrt=wrt)(*args)
    expected = numeric_gradient(probe, args, wrt)
    assert_gradients_close(gradient, expected, args, wrt, rtol=1e-5, atol=1e-6)
