"""Hypothesis writes random programs with branches, loops, break, continue and early
returns; srcdiff's reverse-mode gradient must equal forward-mode dual numbers on the
same source (which follow the same branches), and the value must equal the primal.

State variables are all bound at the top, so every path defines what it reads; the
templates keep values bounded (tanh, sin, division by 1 + b²) so loops cannot overflow.
"""

import os
import random

from hypothesis import given, strategies as st

import srcdiff
from dual import forward_gradient
from oracles import assert_close, register_program
from sharding import CI, shared_examples

STATE = ["s0", "s1", "s2"]
ASSIGN = [
    "{t} = math.tanh({a} * {b} + {c})", "{t} = {a} * 0.7 + math.sin({b})",
    "{t} = {a} / (1 + {b} ** 2)", "{t} = math.sqrt(1 + {a} ** 2) - {b}",
    "{t} = max({a}, {b}) * {c}", "{t} = min({a}, 0.5) + abs({b}) * 0.5",
    "{t} = math.exp(-{a} ** 2) * {b}", "{t} += {a} * 0.3", "{t} -= math.atan({b})",
    "{t} *= 0.9", "{t} = math.log(1 + {a} ** 2) + {c}", "{t} = {a} if {b} > {c} else {c}",
    "{t} = {a} * {i}", "{t} = math.cos({a} * {i} + {b})",
]
HELPER_CALLS = ["{t} = helper0({a}, {b})", "{t} = helper1({a}) * {b}",
                "{t}, {u} = helper2({a}, {b})", "{t} = helper0(b={a}, a={b} * 0.5)"]
HELPERS = """
def helper0(a, b=0.3):
    if a > b:
        return math.tanh(a * b)
    c = a
    for k in range(2):
        c = c * 0.5 + math.sin(b)
    return c


def helper1(a):
    return math.exp(-a * a) + max(a, 0.2)


def helper2(a, b):
    return a * 0.5 + b, math.atan(a - b)

"""
CONDITION = ["{a} > {b}", "{a} < 0.1", "{a} * {b} > 0", "{a} > {b} and {b} > {c}",
             "{a} > 0.5 or {b} < -0.5", "not {a} > {b}"]


@st.composite
def programs(draw):
    n_inputs = draw(st.integers(1, 3))
    inputs = [f"x{k}" for k in range(n_inputs)]
    lines = [f"    {s} = {draw(st.sampled_from(inputs))} * {draw(st.sampled_from(['0.5', '1.0', '-0.8']))}"
             for s in STATE]
    counter = [0]

    def expression(template, loop_index):
        names = STATE + inputs
        target = draw(st.sampled_from(STATE))
        other = draw(st.sampled_from([s for s in STATE if s != target]))
        return template.format(t=target, u=other, a=draw(st.sampled_from(names)),
                               b=draw(st.sampled_from(names)), c=draw(st.sampled_from(names)),
                               i=loop_index or "0.5")

    def block(indent, depth, loop_index):
        body = []
        for _ in range(draw(st.integers(1, 3))):
            kinds = ["assign", "assign", "if"] + (["for", "while"] if depth < 2 else [])
            if loop_index:
                kinds += ["break", "continue"]
            kinds += ["return"]
            kind = draw(st.sampled_from(kinds))
            pad = " " * indent
            if kind == "assign":
                templates = ASSIGN + HELPER_CALLS if draw(st.booleans()) else ASSIGN
                body.append(pad + expression(draw(st.sampled_from(templates)), loop_index))
            elif kind == "if":
                body.append(pad + "if " + expression(draw(st.sampled_from(CONDITION)), loop_index) + ":")
                body += block(indent + 4, depth + 1, loop_index)
                if draw(st.booleans()):
                    body.append(pad + "else:")
                    body += block(indent + 4, depth + 1, loop_index)
            elif kind == "for":
                counter[0] += 1
                index = f"i{counter[0]}"
                body.append(f"{pad}for {index} in range({draw(st.integers(0, 4))}):")
                body += block(indent + 4, depth + 1, index)
            elif kind == "while":
                counter[0] += 1
                w = f"w{counter[0]}"
                body.append(f"{pad}{w} = 0")
                condition = expression(draw(st.sampled_from(CONDITION)), loop_index)
                body.append(f"{pad}while {w} < {draw(st.integers(1, 4))} and ({condition}):")
                body.append(f"{pad}    {w} += 1")
                body += block(indent + 4, depth + 1, w)
            elif kind in ("break", "continue"):
                condition = expression(draw(st.sampled_from(CONDITION)), loop_index)
                body.append(f"{pad}if {condition}:")
                body.append(f"{pad}    {kind}")
            else:
                condition = expression(draw(st.sampled_from(CONDITION)), loop_index)
                body.append(f"{pad}if {condition}:")
                body.append(f"{pad}    return {draw(st.sampled_from(STATE))} * {draw(st.sampled_from(STATE + inputs))}")
        return body

    lines += block(4, 0, None)
    lines.append(f"    return {' + '.join(draw(st.lists(st.sampled_from(STATE), min_size=1, max_size=3)))}")
    source = HELPERS + f"def program({', '.join(inputs)}):\n" + "\n".join(lines) + "\n"
    rng = random.Random(draw(st.integers(0, 2 ** 32 - 1)))
    point = tuple(rng.uniform(-1.5, 1.5) for _ in inputs)
    return source, point


# With CI set, 500 programs, shared out over CI's Pythons (tests/sharding.py).
EXAMPLES = 500 if CI or os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 100


@shared_examples(EXAMPLES)
@given(programs())
def test_reverse_mode_matches_forward_mode(case):
    source, point = case
    program = register_program(source, "program")
    wrt = tuple(range(len(point)))
    value, gradient = srcdiff.value_and_grad(program, wrt=wrt)(*point)
    assert value == program(*point)
    assert_close(gradient, forward_gradient(program, point, wrt), rel=1e-9, abs_=1e-12)


@shared_examples(EXAMPLES // 5)
@given(programs())
def test_unoptimized_gradient_matches_too(case):
    from srcdiff.pipeline import generate
    source, point = case
    program = register_program(source, "program")
    names = tuple(f"x{k}" for k in range(len(point)))
    plain = generate(program, names, name="plain", optimize=False, as_tuple=True).function(*point)
    assert_close(plain, forward_gradient(program, point, range(len(point))), rel=1e-9, abs_=1e-12)
