"""Control flow: every construct against forward-mode dual numbers and central
differences, with and without the optimizer; tapes in proportion to what is needed."""

import math
import tracemalloc

import pytest

import srcdiff
from dual import forward_gradient
from oracles import assert_close, central_difference
from programs_control import CONTROL
from srcdiff.pipeline import generate

IDS = [func.__name__ for func, _ in CONTROL]


def _float_positions(point):
    return tuple(i for i, v in enumerate(point) if isinstance(v, float))


@pytest.mark.parametrize("func, point", CONTROL, ids=IDS)
def test_matches_forward_mode(func, point, capsys):
    wrt = _float_positions(point)
    assert_close(srcdiff.grad(func, wrt=wrt)(*point), forward_gradient(func, point, wrt),
                 rel=1e-12, abs_=1e-12)


@pytest.mark.parametrize("func, point", CONTROL, ids=IDS)
def test_matches_central_differences(func, point, capsys):
    wrt = _float_positions(point)
    assert_close(srcdiff.grad(func, wrt=wrt)(*point), central_difference(func, point, wrt),
                 rel=1e-6, abs_=1e-8)


@pytest.mark.parametrize("func, point", CONTROL, ids=IDS)
def test_value_and_unoptimized(func, point, capsys):
    wrt = _float_positions(point)
    names = tuple(func.__code__.co_varnames[i] for i in wrt)
    value, gradient = srcdiff.value_and_grad(func, wrt=wrt)(*point)
    assert value == func(*point)
    plain = generate(func, names, name="plain", optimize=False, as_tuple=True).function(*point)
    assert_close(plain, gradient, rel=1e-14)


def test_prints_and_asserts_stay_in_the_forward_sweep(capsys):
    from programs_control import integer_counters_and_prints
    srcdiff.grad(integer_counters_and_prints)(1.1, 3)
    assert capsys.readouterr().out == "iterations: 3 2\n"
    text = srcdiff.source(srcdiff.grad(integer_counters_and_prints))
    assert "assert count <= n" in text and "b_count" not in text and "b_i" not in text


def damped(x, n):
    v = 0.0
    for i in range(n):
        v = v * 0.5 + x
    return v


def tape_length_of(func, wrt, args):
    """Run the generated gradient with a tape that records its largest size."""
    text = srcdiff.source(srcdiff.grad(func, wrt=wrt))
    assert text.count("tape = []") == 1

    class Tape(list):
        peak = 0

        def append(self, value):
            super().append(value)
            Tape.peak = max(Tape.peak, len(self))

    namespace = dict(func.__globals__, Tape=Tape)
    exec(text.replace("tape = []", "tape = Tape()"), namespace)
    name = text.split("(")[0].removeprefix("def ")
    result = namespace[name](*args)
    return Tape.peak, result


def sine_map(x, n):
    v = x
    for i in range(n):
        v = math.sin(v) + x  # the derivative of sin reads the old v
    return v


def two_states(x, n):
    a, b = x, 1.0
    for i in range(n):
        a, b = math.sin(a * b), math.cos(a + b)  # both partials read both old values
    return a + b


def test_tape_holds_one_entry_per_overwritten_active_value_per_iteration():
    assert "tape" not in srcdiff.source(srcdiff.grad(damped))  # v*0.5 + x reads no old v
    peak, result = tape_length_of(sine_map, 0, (0.3, 1000))
    assert peak == 1000  # v: one entry per iteration; nothing else is saved
    assert result == pytest.approx(forward_gradient(sine_map, (0.3, 1000), (0,))[0], rel=1e-12)
    peak, result = tape_length_of(two_states, 0, (0.3, 1000))
    # three overwritten values the backward sweep reads: a and b (partials of a * b) and
    # the argument of cos, a + b: its reader b = cos(a + b) changes b, so it cannot be
    # recomputed there. The argument of sin, a * b, is recomputed from a and b.
    assert peak == 3 * 1000
    unoptimised = generate(two_states, ("x",), name="g", optimize=False).source
    assert unoptimised.count("tape.append(") == 4
    # After 1000 steps from 0.3 the map has converged and the derivative is tiny; 4 steps
    # from 0.9 give one that a wrong recomputation cannot match by accident (an earlier
    # version recomputed a + b from the new b and passed the check at 1000 steps).
    _, result = tape_length_of(two_states, 0, (0.9, 4))
    expected = forward_gradient(two_states, (0.9, 4), (0,))[0]
    assert abs(expected) > 0.5 and result == pytest.approx(expected, rel=1e-12)


def midpoint(k, x, n):
    v, t = 0.0, 0.0
    for i in range(n):
        a = -k * x - 0.4 * v - 0.5 * x * x * x + math.sin(1.3 * t)
        xm = x + 0.5 * 0.01 * v
        vm = v + 0.5 * 0.01 * a
        am = -k * xm - 0.4 * vm - 0.5 * xm * xm * xm
        x = x + 0.01 * vm
        v = v + 0.01 * am
        t = t + 0.01
    return x * x + v * v


def test_values_computed_from_restored_ones_are_recomputed():
    # x and v are restored at the top of each replayed step; xm, x * x, xm * xm and the
    # products of a chain are recomputed from them (t is not active). vm stays on the
    # tape: its operand a is read by nothing else the backward sweep needs, so recomputing
    # vm would put a on the tape instead.
    peak, result = tape_length_of(midpoint, (0, 1), (1.3, 0.9, 50))
    assert peak == 3 * 50
    expected = forward_gradient(midpoint, (1.3, 0.9, 50), (0, 1))
    assert result == pytest.approx(expected, rel=1e-12)
    unoptimised = generate(midpoint, ("k", "x"), name="g", optimize=False).source
    assert unoptimised.split("for i in")[1].count("tape.append(") > 3


def test_straight_line_code_needs_no_tape():
    from programs import reassignment
    assert "tape" not in srcdiff.source(srcdiff.grad(reassignment))


def test_a_million_iterations():
    n = 10 ** 6
    gradient = srcdiff.grad(sine_map)
    small = forward_gradient(sine_map, (0.3, 1000), (0,))[0]
    assert gradient(0.3, 1000) == pytest.approx(small, rel=1e-12)
    tracemalloc.start()
    result = gradient(0.3, n)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the map contracts: after a thousand steps the derivative has converged
    assert result == pytest.approx(small, rel=1e-9)
    # one float (24 bytes) and one list slot (8 bytes, with over-allocation) per iteration
    assert 24 <= peak / n < 60, f"{peak / n:.1f} bytes per iteration"
