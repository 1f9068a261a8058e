"""Every class of silent wrong gradient and internal error of issue 11, pinned.

Each program lives in tests/regressions_module.py. Expected gradients come from oracles
that share nothing with srcdiff: forward-mode dual numbers on the same source (scalar
code), central differences whose two step sizes agree (so the point is not near a kink),
and closed forms. Each is checked with the optimiser on, off, and with each
optimisation switched off alone.
"""

import math
import pickle
import re
import threading

import numpy
import pytest

import srcdiff
import regressions_module as m
from arrays import numeric_gradient, program
from dual import forward_gradient
from srcdiff.kinds import array
from srcdiff.pipeline import OPTIMIZATIONS, generate


def settled_difference(func, args, wrt):
    """Central differences at two step sizes; they must agree (no kink within a step)."""
    fine = numeric_gradient(func, args, wrt, h=1e-6)
    coarse = numeric_gradient(func, args, wrt, h=1e-4)
    for a, b in zip(fine, coarse):
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    return fine


def every_setting(func, args, wrt):
    """The gradient with the optimiser on, off, and each optimisation off alone."""
    names = func.__code__.co_varnames
    kinds = {names[i]: array(numpy.ndim(a)) for i, a in enumerate(args)
             if isinstance(a, numpy.ndarray)}
    wrt_names = tuple(names[i] for i in wrt)
    settings = [dict(), dict(optimize=False)] + [dict(disable=(p,)) for p in OPTIMIZATIONS]
    return [generate(func, wrt_names, name="g", as_tuple=True, kinds=kinds, **s).function(*args)
            for s in settings]


def check(func, *args, wrt=None, expected=None, rtol=1e-7, atol=1e-9):
    """srcdiff's gradient of every float parameter, in every setting, against
    ``expected`` (default: settled central differences), shapes and dtypes included."""
    if wrt is None:
        wrt = tuple(i for i, a in enumerate(args) if isinstance(a, (float, numpy.ndarray)))
    if expected is None:
        expected = settled_difference(func, list(args), wrt)
    public = srcdiff.grad(func, wrt=wrt)(*args)
    for gradient in [public] + every_setting(func, args, wrt):
        for got, want, i in zip(gradient, expected, wrt):
            assert numpy.shape(got) == numpy.shape(args[i])
            assert numpy.asarray(got).dtype.kind == "f"
            numpy.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return public


def dual(func, *args):
    wrt = tuple(i for i, a in enumerate(args) if isinstance(a, float))
    return forward_gradient(func, args, wrt)


# --- 1. recomputation in loops ----------------------------------------------------------------

@pytest.mark.parametrize("func", [m.sine_of_sum, m.logistic_map, m.continued_fraction,
                                  m.horner, m.cube_three_times, m.two_states,
                                  m.taped_operand_of_a_recomputed_product,
                                  m.divisions_in_a_chain, m.chain_read_late,
                                  m.user_variable_read_after_the_loop,
                                  m.inner_product_of_an_outer_state,
                                  m.recomputed_across_a_branch, m.product_of_the_loop_target,
                                  m.midpoint_step, m.state_read_in_a_while_test])
def test_recomputation_reads_the_old_values(func):
    check(func, 0.9, expected=dual(func, 0.9), rtol=1e-12, atol=1e-12)


def test_recomputation_in_numpy_loops():
    check(m.numpy_sine_map, 0.8)


# --- 2. broadcasting in loops and branches -----------------------------------------------------

@pytest.mark.parametrize("func, args", [
    (m.scale_in_loop, (numpy.array([0.3, -0.4, 0.5]), 0.9)),
    (m.accumulate_number_into_array, (numpy.array([0.3, -0.4, 0.5]), 0.7)),
    (m.add_row, (numpy.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]), numpy.array([1.0, -1.0, 0.5]))),
    (m.normalise_in_loop, (numpy.array([0.3, -0.4, 0.5]),)),
    (m.divide_by_sum_in_loop, (numpy.array([0.3, 0.4, 0.5]),)),
])
def test_broadcast_operands_in_loops_are_summed_back(func, args):
    check(func, *args)


# --- 3. self-copies -------------------------------------------------------------------------------

@pytest.mark.parametrize("func", [m.bisection, m.self_copy])
def test_self_copies_keep_their_adjoint(func):
    check(func, 3.0, expected=dual(func, 3.0), rtol=1e-12)


# --- 4. local functions -----------------------------------------------------------------------------

@pytest.mark.parametrize("func", [m.lambda_rebound, m.def_rebound, m.default_captures_value,
                                  m.def_default_captures_value,
                                  m.module_callee_with_lambda_twice,
                                  m.callee_with_nested_def_twice])
def test_local_functions_bind_like_python(func):
    check(func, 0.7, expected=dual(func, 0.7), rtol=1e-12)


# --- 5. aliasing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("func, changed", [(m.alias_through_helper, "b"),
                                           (m.alias_through_conditional, "b"),
                                           (m.alias_through_or, "b")])
def test_changing_an_alias_in_place_is_refused(func, changed):
    """Python changes ``a`` through ``b``; srcdiff would not: refused, located."""
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match=f"`{changed}` is changed in place while `a`") as caught:
        srcdiff.grad(func)(numpy.array([0.3, 0.4, 0.5]))
    assert caught.value.lineno > 0 and "[" in caught.value.source_line


# --- 6. gradients own their memory -------------------------------------------------------------------

def test_gradient_is_not_the_callers_array():
    x, v = numpy.array([1.0, 2.0, 3.0]), numpy.array([4.0, 5.0, 6.0])
    gx, gv = srcdiff.grad(m.dot_with_argument, wrt=(0, 1))(x, v)
    numpy.testing.assert_array_equal(gx, v)
    assert not numpy.shares_memory(gx, v) and not numpy.shares_memory(gv, x)
    gx *= 2  # the caller updates its gradient in place: its data must not change
    numpy.testing.assert_array_equal(v, [4.0, 5.0, 6.0])


def test_gradient_is_not_a_global():
    gradient = srcdiff.grad(m.dot_with_global)(numpy.array([1.0, 2.0, 3.0]))
    assert not numpy.shares_memory(gradient, m.WEIGHTS)
    gradient[:] = 0.0
    numpy.testing.assert_array_equal(m.WEIGHTS, [1.0, 2.0, 3.0])


# --- 7. hygiene --------------------------------------------------------------------------------------

@pytest.mark.parametrize("func", [m.underscore_after_loop, m.local_named_numpy,
                                  m.local_named_math, m.fn])
def test_user_names_do_not_capture_generated_ones(func):
    check(func, 0.7, expected=settled_difference(func, [0.7], (0,)))


def test_a_global_range_does_not_change_generated_loops(monkeypatch):
    """The program never calls range; the backward sweep's loop must be the builtin's."""
    monkeypatch.setattr(m, "range", lambda n: [0], raising=False)
    gradient = srcdiff.grad(m.while_loop_with_global_range)
    assert "range" in srcdiff.source(gradient)
    assert gradient(0.7) == pytest.approx(dual(m.while_loop_with_global_range, 0.7)[0],
                                          rel=1e-12)


# --- 8. stale gradients --------------------------------------------------------------------------------

def test_a_rebound_helper_is_noticed(monkeypatch):
    gradient = srcdiff.grad(m.uses_rebound_helper)
    assert gradient(0.7) == pytest.approx(2 * 2.0 * 0.7)
    monkeypatch.setattr(m, "rebound_helper", lambda t: t * 3.0)
    assert srcdiff.grad(m.uses_rebound_helper) is gradient
    assert gradient(0.7) == pytest.approx(2 * 3.0 * 0.7)


def test_a_global_number_that_becomes_an_array(monkeypatch):
    gradient = srcdiff.grad(m.uses_scale)
    numpy.testing.assert_allclose(gradient(numpy.array([1.0, 2.0])), [2.0, 2.0])
    monkeypatch.setattr(m, "SCALE", numpy.array([1.0, 3.0]))
    numpy.testing.assert_allclose(gradient(numpy.array([1.0, 2.0])), [1.0, 3.0])
    monkeypatch.setattr(m, "SCALE", 0.5)  # a number again, read live
    numpy.testing.assert_allclose(gradient(numpy.array([1.0, 2.0])), [0.5, 0.5])


def test_a_rule_registered_later_is_used():
    """register_rule (and its removal) after grad(f): the gradient generates again with
    the rules as they are now, in both modes."""
    from srcdiff.expr import exp
    from srcdiff.rules import RULES
    gradient, tangent = srcdiff.grad(m.uses_softplus), srcdiff.jvp(m.uses_softplus)
    sigmoid = 1 / (1 + math.exp(-2.0))
    assert gradient(2.0) == pytest.approx(sigmoid)
    srcdiff.register_rule(m.softplus, lambda x: 0.5 / (1 + exp(-x)))  # a custom derivative
    try:
        assert gradient(2.0) == pytest.approx(0.5 * sigmoid)
        assert tangent(2.0, 1.0)[1] == pytest.approx(0.5 * sigmoid)
    finally:
        RULES.remove(m.softplus, 1)
    assert gradient(2.0) == pytest.approx(sigmoid)


# --- 9. repeated indices in item assignment ---------------------------------------------------------------

@pytest.mark.parametrize("func", [m.assign_repeated, m.add_repeated_aliasing])
def test_repeated_indices_follow_the_write_numpy_kept(func):
    check(func, numpy.array([1.0, 2.0, 3.0]))


# --- 10-12. lists, abs, untaken branches, integer gradients ---------------------------------------------

@pytest.mark.parametrize("func", [m.mean_of_list, m.einsum_of_list, m.huber, m.untaken_reshape])
def test_array_programs(func):
    check(func, numpy.array([0.1, 0.9, 2.5]))


def test_a_loop_that_never_runs_gives_zeros_of_the_right_shape():
    gradient = srcdiff.grad(m.loop_never_runs)(numpy.ones((2, 3)), 0)
    assert gradient.shape == (2, 3) and gradient.dtype == float and not gradient.any()


def test_gradients_are_floats():
    value = srcdiff.grad(m.where_constant_branch)(0.7)
    assert type(value) is float and value == 1.0
    gradient = srcdiff.grad(m.maximum_with_zero)(numpy.array([-1.0, 2.0]))
    assert gradient.dtype == float and list(gradient) == [0.0, 1.0]
    assert type(srcdiff.grad(m.max_below)(0.2)) is float


@pytest.mark.parametrize("func, args, expected", [
    (m.scaled_by_an_int, (1.05, 3), (3.0,)),
    (m.overwritten_in_a_constant_branch, (-1.1, 0.9), (0.0, 1.0)),
    (m.sum_and_difference, (1, 2), (-2.0, 4.0)),        # integer arguments: d/da = d - c
    # v = -0.3: m = var = -0.15 < 1, so f = var + (s + var) / 2: d/dv = 0.75, d/ds = 0.5
    (m.zero_dimensional_adjoint_of_numbers, (-0.3, 0.83), (0.75, 0.5)),
])
def test_number_gradients_are_floats_whatever_the_arguments(func, args, expected):
    """Found by the fuzzers: a gradient that is a partial alone (x * n with respect to x is
    n), an adjoint assigned b * 0, and integer arguments gave ints; a 0-d array from
    ``np.where`` of numbers was added to in place. Checked in every setting."""
    wrt = tuple(range(len(expected)))
    for gradient in [srcdiff.grad(func, wrt=wrt)(*args)] + every_setting(func, args, wrt):
        assert all(type(g) is float for g in gradient), gradient
        assert gradient == expected


# --- 13. the command line: see tests/test_cli.py -----------------------------------------------------------

# --- 14. unbound names raise where Python raises ---------------------------------------------------------

@pytest.mark.parametrize("func", [m.unbound_on_path, m.unbound_in_loop])
def test_unbound_names_raise(func):
    with pytest.raises(UnboundLocalError):
        func(0.5)
    with pytest.raises(UnboundLocalError):
        srcdiff.grad(func)(0.5)


# --- 15-16. reuse and propagation across overwrites --------------------------------------------------------

@pytest.mark.parametrize("func, point", [(m.parameter_reassigned_in_branch, (1.2,)),
                                         (m.parameter_reassigned_in_branch, (0.2,)),
                                         (m.value_after_loop, (0.8,)),
                                         (m.copy_then_overwrite, (0.8, 1.3)),
                                         (m.copy_then_overwrite_in_branch, (0.8, 1.3))])
def test_values_overwritten_later_are_not_reused(func, point):
    value, _ = srcdiff.value_and_grad(func)(*point)
    assert value == func(*point)
    check(func, *point, expected=dual(func, *point), rtol=1e-12)


# --- 17. module-level arrays and local lists --------------------------------------------------------------

@pytest.mark.parametrize("func", [m.shekel_like, m.through_atleast_2d, m.local_list])
def test_data_arrays_broadcast(func):
    check(func, numpy.array([0.3, 0.4, 0.5]))


# --- 18. evaluation order --------------------------------------------------------------------------------

def test_the_right_side_is_evaluated_first():
    check(m.evaluation_order, 0.7, expected=dual(m.evaluation_order, 0.7), rtol=1e-12)


# --- internal errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("func, point", [
    (m.clip_helper, (0.3,)), (m.hoisted_then_reassigned, (0.4,)), (m.copysign_of_temporary, (0.4,)),
    (m.copysign_in_recursion, (0.4, 3)), (m.and_then_pass, (0.7,)), (m.break_in_inner_else, (0.6,)),
    (m.polynomial, (0.7,)),
])
def test_scalar_programs_that_raised_internal_errors(func, point):
    check(func, *point, expected=dual(func, *point), rtol=1e-12)


def test_polynomial_at_zero():
    """x ** 0 has slope 0 everywhere, x = 0 included: 1 + 2x + 3x² + 4x³ has slope 2."""
    assert srcdiff.grad(m.polynomial)(0.0) == 2.0
    assert srcdiff.grad(m.zero_to_the_x)(1.5) == 1.0  # 0 ** x is 0 for x > 0


@pytest.mark.parametrize("func, args", [
    (m.matrix_item_assignment, (numpy.array([[0.5, 0.2], [0.3, 0.9]]),)),
    (m.ellipsis_item_assignment, (numpy.array([[0.5, 0.2], [0.3, 0.9]]),)),
    (m.clip_method, (numpy.array([-0.3, 0.4, 0.5]),)),
    (m.recursion_with_arrays, (numpy.array([0.3, 0.4, 0.5]),)),
])
def test_array_programs_that_raised_internal_errors(func, args):
    check(func, *args)


def test_infinite_and_undefined_derivatives_follow_ieee():
    """Where the function is defined but its derivative is not finite, the gradient is
    inf or nan (as in JAX and PyTorch); where the function raises, so does its gradient."""
    assert srcdiff.grad(m.sqrt_at_zero)(0.0) == math.inf
    assert all(math.isnan(g) for g in srcdiff.grad(m.hypot_at_zero, wrt=(0, 1))(0.0, 0.0))
    assert math.isnan(srcdiff.grad(m.power_of_negative)(2.0))
    with pytest.raises(ValueError):
        srcdiff.grad(m.sqrt_at_zero)(-1.0)


def test_errors_travel_between_processes():
    with pytest.raises(srcdiff.UnsupportedSyntaxError) as caught:
        srcdiff.grad(m.alias_through_helper)(numpy.array([0.3, 0.4, 0.5]))
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is type(caught.value) and str(copy) == str(caught.value)
    assert (copy.filename, copy.lineno, copy.col) == (caught.value.filename,
                                                      caught.value.lineno, caught.value.col)


def test_threads_share_a_fresh_gradient_of_a_recursive_function():
    """Eight threads call a gradient whose recursive callee's VJP is generated on first
    use; none may see it half made."""
    def scaled_square(x):
        return numpy.sum(m.recursive_scale(x, 3) * x)

    gradient = srcdiff.grad(scaled_square)  # array code: generated at the first call
    results, errors = [], []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        try:
            results.append(gradient(numpy.array([0.7, -0.2])))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for result in results:
        numpy.testing.assert_allclose(result, 2 * 1.5 ** 3 * numpy.array([0.7, -0.2]))
    assert len(results) == 8


# --- found by the random program generators ---------------------------------------------------

@pytest.mark.parametrize("func, point", [
    (m.loop_target_reassigned, (0.25,)), (m.loop_target_swapped_with_max, (-1.19,)),
    (m.calls_a_global_named_like_its_gradient, (0.7,)),
    (m.bisection_then_branch_in_a_loop, (-1.4769350223426319, 2)),
    (m.local_named_range_in_a_loop_over_a_global, (-0.79, -1.15, -0.18)),
])
def test_fuzzed_scalar_programs(func, point):
    """A loop target assigned in the loop body: each iteration binds it afresh, so its
    adjoint is reset there; a global named like the gradient (grad_program) is read, not
    taken for the gradient itself."""
    check(func, *point, expected=dual(func, *point), rtol=1e-12)


@pytest.mark.parametrize("func, args", [
    (m.inner_product_of_fancy_selection, (numpy.array([0.3, -0.4, 0.5]),)),
    (m.reduction_after_early_return, (numpy.array([0.3, -0.4]),)),
    (m.outer_after_early_return, (numpy.array([0.3, -0.4, 0.5]),)),
    (m.ellipsis_view_in_loop, (numpy.array([[0.3, -0.4, 0.5], [0.1, 0.2, 0.3]]),)),
    (m.recomputed_and_reused, (numpy.array([-0.93, 0.05, 1.22]), numpy.array([1.13, -0.44, 0.47]))),
    (m.numpy_loop_target_reassigned, (numpy.array([-1.04, 1.01, -0.71]),)),
    (m.newaxis_indices, (numpy.array([0.3, -0.5, 1.2]),)),
    (m.dot_of_fancy_selections, (0.7, numpy.array([0.3, -0.5, 1.2]))),
    (m.zero_dimensional_adjoint, (numpy.array([[-1.3, -1.2, -1.38], [-1.2, 1.31, 1.08]]), 0.83)),
    (m.zero_adjoint_of_a_broadcast_product, (-1.2,)),
    (m.dot_after_squeeze, (numpy.array([0.5, -1.0, 2.0]),)),
    (m.fancy_selections_of_a_matrix, (numpy.array([[0.3, -0.5, 1.2], [0.8, 0.1, -0.4]]),
                                      numpy.array([0.6, -0.2, 0.9]))),
    (m.broadcast_product_in_an_untaken_branch, (numpy.array([0.3, -0.2, 0.5]), 0.7)),
])
def test_fuzzed_array_programs(func, args):
    """Adjoints that may still be the zero a branch or loop left must get their shape
    before a reduction or view uses it; a temporary that a partial reads where it is
    available must not be recomputed after that read; ``np.newaxis`` in an index is
    ``None`` (it was refused as a free name that is not a number); a selection by an
    array of indices of rank 1 has a known rank (``np.dot`` of one was refused); an
    adjoint holding a 0-d array (``np.where`` of numbers) is not added to in place; a
    branch's zero adjoint times a partial narrower than the operand gets the operand's
    shape (``unbroadcast`` raised)."""
    check(func, *args)


def test_determinant_at_a_singular_matrix():
    """The determinant's derivative is the cofactor matrix, which a singular matrix has
    too: the gradient and the tangent raised LinAlgError (they inverted the matrix)."""
    x = numpy.array([1.0, 1.0])
    gradient = srcdiff.grad(m.determinant_at_a_singular_matrix)(x)
    numpy.testing.assert_allclose(gradient, [1.0, 1.0])
    for setting in every_setting(m.determinant_at_a_singular_matrix, (x,), (0,)):
        numpy.testing.assert_allclose(setting[0], [1.0, 1.0])
    value, tangent = srcdiff.jvp(m.determinant_at_a_singular_matrix)(x, numpy.array([0.5, 2.0]))
    assert value == 0.0 and tangent == pytest.approx(2.5)


def test_gradients_do_not_keep_their_functions_alive():
    """A process that differentiates many functions (a fuzzer, a notebook redefining
    them) must get their memory back: gradients are cached on the function, not in a
    table that would keep every function alive, and generated sources leave linecache
    with their function."""
    import gc
    import linecache
    import weakref
    from oracles import register_program
    before = len(linecache.cache)
    function = register_program("def program(x):\n    s = x\n    for i in range(3):\n"
                                "        s = s * x + i\n    return s\n", "program")
    # s = x, then x², x³ + 1, x⁴ + x + 2: the slope is 4x³ + 1
    assert srcdiff.grad(function)(0.5) == pytest.approx(4 * 0.5 ** 3 + 1)
    alive = weakref.ref(function)
    del function
    gc.collect()
    assert alive() is None
    assert len(linecache.cache) <= before + 1  # the program's own source may stay


# --- the gradient raises where the function raises (campaign seeds 200077, 200907) --------------------

@pytest.mark.parametrize("func, args, message", [
    (m.truth_of_an_array_unused, (numpy.ones(3), numpy.ones(3)), "truth value of an array"),
    (m.write_to_a_read_only_view, (numpy.ones(3),), "assignment destination is read-only"),
    (m.update_a_read_only_view, (numpy.ones(3),), "output array is read-only"),
    (m.write_to_a_broadcast, (numpy.ones(3),), "assignment destination is read-only"),
    (m.unused_sum_that_does_not_broadcast, (numpy.ones(3), numpy.ones(2)), "could not be broadcast"),
    (m.unused_comparison_that_does_not_broadcast, (numpy.ones(3), numpy.ones(2)),
     "could not be broadcast"),
    (m.unused_maximum_that_does_not_broadcast, (numpy.ones(3), numpy.ones(2)),
     "could not be broadcast"),
    (m.unused_where_that_does_not_broadcast, (numpy.ones(3), numpy.ones(2)),
     "could not be broadcast"),
    (m.update_that_would_grow, (numpy.ones(3), numpy.ones((2, 3))), "non-broadcastable output"),
])
def test_the_gradient_raises_where_the_function_raises(func, args, message):
    """Code whose value the gradient does not need was dropped, or an in-place change
    was made on a new array, so the gradient returned numbers at points where the
    function raises. Each message is the function's own: checked on the primal first,
    so that a test cannot pass on a different error."""
    with pytest.raises((ValueError, TypeError), match=message):
        func(*args)
    with pytest.raises((ValueError, TypeError), match=message):
        srcdiff.grad(func, wrt=0)(*args)
    names = func.__code__.co_varnames
    kinds = {names[i]: array(numpy.ndim(a)) for i, a in enumerate(args)}
    settings = [dict(), dict(optimize=False)] + [dict(disable=(p,)) for p in OPTIMIZATIONS]
    for setting in settings:
        gradient = generate(func, (names[0],), name="g", kinds=kinds, **setting).function
        with pytest.raises((ValueError, TypeError), match=message):
            gradient(*args)
    tangent = numpy.ones_like(args[0])
    with pytest.raises((ValueError, TypeError), match=message):
        srcdiff.jvp(func, wrt=0)(*args, tangent)


def test_an_invariant_that_may_raise_stays_in_its_loop():
    """Hoisting ``x * w`` out of a loop that runs no time made the gradient raise where
    the function returns; where the loop runs, both raise."""
    x, w = numpy.ones(3), numpy.ones(2)
    assert m.invariant_that_does_not_broadcast(x, w, 0) == 3.0
    for gradient in every_setting(m.invariant_that_does_not_broadcast, (x, w, 0), (0,)):
        numpy.testing.assert_array_equal(gradient[0], numpy.ones(3))
    with pytest.raises(ValueError, match="could not be broadcast"):
        m.invariant_that_does_not_broadcast(x, w, 2)
    with pytest.raises(ValueError, match="could not be broadcast"):
        srcdiff.grad(m.invariant_that_does_not_broadcast, wrt=0)(x, w, 2)


def test_in_place_updates_that_fit_are_differentiated():
    x, w = numpy.array([0.3, -1.2, 0.7]), numpy.array([[0.5, 0.1, -0.4], [1.0, 2.0, 3.0]])
    check(m.updates_that_fit, x, w, wrt=(0, 1))


# --- an array variable overwritten by a number in a loop (campaign arrays seed 201572) --------------

def _overwritten(expression):
    """``c = <expression>``, then ``c = 1.5`` in a loop: c's array value never reaches the
    result, which is sum(W * W) + 1.5 (gradient 2 W)."""
    from oracles import register_program
    source = (f"def overwritten(W):\n    c = {expression}\n    for i in range(2):\n"
              "        c = 1.5\n    return np.sum(c) + np.sum(W * W)\n")
    return register_program(source, "overwritten", {"np": numpy})


@pytest.mark.parametrize("expression", ["np.sum(W, axis=-2)"] + m.OVERWRITTEN)
def test_an_array_overwritten_by_a_number_in_a_loop(expression):
    """The loop's backward sweep resets the adjoint of c to 0.0; the rule that made c took
    that number for an array of c's shape (AxisError, matmul and reshape errors)."""
    func = _overwritten(expression)
    W = numpy.array([[0.3, -1.2, 0.5], [0.7, 0.1, -0.4]])
    assert func(W) == pytest.approx(numpy.sum(W * W) + 1.5)
    check(func, W, expected=[2 * W])


def test_second_derivatives_of_code_with_in_place_checks():
    """The checks generated for in-place changes (writable, in_place) are statements the
    fence refused when hessian and grad(grad(f)) differentiated generated code again."""
    x, w = numpy.array([0.3, -1.2, 0.7]), numpy.array([[0.5, 0.1, -0.4], [1.0, 2.0, 3.0]])
    gradient = srcdiff.grad(m.updates_that_fit)
    h = 1e-6
    expected = numpy.empty((3, 3))
    for j in range(3):
        e = numpy.zeros(3)
        e[j] = h
        expected[:, j] = (gradient(x + e, w) - gradient(x - e, w)) / (2 * h)
    numpy.testing.assert_allclose(srcdiff.hessian(m.updates_that_fit)(x, w), expected,
                                  rtol=1e-6, atol=1e-6)


def test_constants_only_in_an_active_assignment():
    assert m.constant_power_in_a_branch(1.5) == 1.5
    check(m.constant_power_in_a_branch, 1.5, expected=[1.0])
    check(m.constant_power_in_a_branch, 6.5, expected=[2.0])


def test_a_zero_adjoint_keeps_its_shape_for_the_rules_after_it():
    x = numpy.array([-0.69, -0.96, 0.68])
    check(m.zero_adjoint_into_concatenate, x, expected=[numpy.ones(3)])


@pytest.mark.parametrize("s", [-1.6, -0.4, 0.7])
def test_spread_of_equal_elements(s):
    """``np.std`` and ``np.var`` of elements that are all the same number are zero
    whatever ``s`` is, so only ``0.5 * s`` counts. Their derivative with respect to the
    elements is the deviations from the mean (over the spread, for ``std``); where the
    computed mean is a rounding error off the elements (these points), those deviations
    were a common offset, and std's quotient of two rounding errors gave a gradient of
    0.49 to 0.78 (campaign arrays seeds 602762, 700798)."""
    z = numpy.sin(s + numpy.zeros(7)) / 3.0
    assert numpy.std(z) != 0.0   # the case this pins: the mean is not exact
    check(m.std_of_equal_elements, s, expected=[0.5])
    value, tangent = srcdiff.jvp(m.std_of_equal_elements)(s, 1.0)
    assert tangent == pytest.approx(0.5, abs=1e-12)


def test_spread_of_equal_elements_exactly_zero():
    """Where the computed spread is exactly zero the derivative of ``std`` is zero over
    zero: nan, as IEEE arithmetic (and JAX) give, never a finite number."""
    assert numpy.std(numpy.sin(numpy.zeros(7)) / 3.0) == 0.0
    with numpy.errstate(invalid="ignore"):
        assert math.isnan(srcdiff.grad(m.std_of_equal_elements)(0.0))
        assert math.isnan(srcdiff.jvp(m.std_of_equal_elements)(0.0, 1.0)[1])


def test_item_assignment_keeps_the_arrays_memory_order():
    # arrays seed 890464: set_item copied a transposed (Fortran-ordered) view into C
    # order, and np.sum of what followed added in another order: value_and_grad's value
    # was one ulp off the function's (3.6006441240326055 for 3.600644124032605)
    import numpy as np
    from arrays import program

    func = program("import numpy as np\n"
                   "def probe(x, W):\n"
                   "    out = np.linalg.pinv(np.eye(2, 3)).T\n"
                   "    for i in range(2):\n"
                   "        for j in range(3):\n"
                   "            out[i, j] = 0.5 * out[i, j]\n"
                   "    return np.sum(np.sin(out + 0.5)) + np.sum(W * x)\n", np=np)
    x = np.array([-0.2875604828627245, 1.0933747806441563, -0.8572042243404503])
    W = np.array([[-0.8666333145128425, -0.4056491414238428, -0.10310321916349308],
                  [1.2139382135998704, -1.4711582489868955, -0.10982348879263415]])
    value, (dx, dW) = srcdiff.value_and_grad(func, wrt=(0, 1))(x, W)
    assert value == func(x, W)
    np.testing.assert_allclose(dx, W.sum(axis=0))
    np.testing.assert_allclose(dW, np.broadcast_to(x, (2, 3)))


def test_a_read_of_a_local_whose_assignments_are_all_dead_still_raises():
    # scalar seed 731037 (with PYTHONHASHSEED=0): `tmp` is assigned in one branch and read
    # in the other; the assignment is dead (nothing it reaches reads it), and once it had
    # gone dead-code elimination took `tmp` for a free name and dropped its read too: the
    # gradient returned where the function raises UnboundLocalError
    from arrays import program

    func = program("def probe(x, c):\n"
                   "    if c > 0:\n"
                   "        tmp = x * 2.0\n"
                   "        y = x * x\n"
                   "    else:\n"
                   "        unused = max(tmp, -0.76)\n"
                   "        y = x * 3.0\n"
                   "    return y\n")
    with pytest.raises(UnboundLocalError):
        func(0.5, -1.0)
    from srcdiff.pipeline import OPTIMIZATIONS, generate
    for options in [{}] + [{"disable": (name,)} for name in OPTIMIZATIONS]:
        generated = generate(func, ("x",), name="g", **options)
        with pytest.raises(UnboundLocalError):  # `tmp` stays a local (seed 838491)
            generated.function(0.5, -1.0)
    assert srcdiff.grad(func)(0.5, 1.0) == 1.0


def test_a_local_read_only_where_it_is_unbound_stays_a_local_of_the_gradient():
    # scalar seed 838491: `z` is assigned in one branch and read in the other, where
    # Python raises UnboundLocalError. Its assignment was dead and removed, so the
    # gradient's code read `z` as a global, and grad(grad(f)) refused that code ("name
    # `z` is not defined"); the gradient raised NameError, not UnboundLocalError.
    from arrays import program

    func = program("def probe(x):\n"
                   "    if x > 0:\n"
                   "        for i in range(2):\n"
                   "            z = math.sin(x) * i\n"
                   "    elif math.cos(x) > z:\n"
                   "        return x\n"
                   "    return x * x\n", math=math)
    with pytest.raises(UnboundLocalError):
        func(-0.5)
    for options in [{}, {"optimize": False}] + [{"disable": (n,)} for n in OPTIMIZATIONS]:
        generated = generate(func, ("x",), name="g", **options)
        assert generated.function(0.5) == 1.0  # 2x
        with pytest.raises(UnboundLocalError):
            generated.function(-0.5)
    assert srcdiff.grad(srcdiff.grad(func))(0.5) == 2.0
    assert srcdiff.hessian(func)(0.5) == 2.0


def test_item_assignment_keeps_the_strides_of_a_view():
    # arrays seed 799117: z = np.flip(np.repeat(x, 2)[::2]) is a view with a stride of
    # -16 bytes; set_item copied it compact, and np.einsum('i,i', z, running) added the
    # copy in another order: value_and_grad's value was one ulp off the function's
    # (0.035214132377023075 for 0.03521413237702306). The copy now has the view's strides.
    import numpy as np
    from arrays import program

    func = program("import numpy as np\n"
                   "def probe(x, W):\n"
                   "    z = np.flip(np.repeat(x, 2)[::2])\n"
                   "    z[-1] = 0.5\n"
                   "    running = 0.9 * np.arctan2(x + 1.0, np.hypot(x, 1.0))\n"
                   "    return np.einsum('i,i', z, running) + np.sum(W)\n", np=np)
    x = np.array([-1.0245810454858288, -0.7911514818468683, -0.6183162734768796])
    W = np.ones((2, 3))
    value, (dx, dW) = srcdiff.value_and_grad(func, wrt=(0, 1))(x, W)
    assert value == func(x.copy(), W)
    np.testing.assert_allclose(dx, numeric_gradient(func, (x, W), (0,))[0], rtol=1e-6)
    np.testing.assert_array_equal(dW, np.ones((2, 3)))


def test_set_item_copies_add_up_as_the_array_assigned_in_place():
    """For views with steps and negative strides (and 2-d ones), sum, dot and einsum
    over set_item's copy give the bits they give over the array assigned in place (a
    compact copy gave other last bits in about one reduction in six); set_item never
    changes its argument."""
    import numpy as np
    from srcdiff.runtime import set_item

    rng = np.random.default_rng(11)
    for case in range(600):
        n, step = int(rng.integers(2, 40)), int(rng.integers(1, 4))
        base = rng.normal(size=(n * step * 2, 3))
        two_d = case % 5 == 4

        def view_of(array):
            if two_d:
                return array[::step, ::-1] if case % 2 else array.T[:, ::step]
            v = array[::step, case % 3][:n]
            return v[::-1] if case % 2 else v
        view = view_of(base)
        weights = rng.normal(size=view.shape)
        before = view.copy()
        index = tuple(int(rng.integers(0, d)) for d in view.shape)
        copied = set_item(view, index, 0.25)
        np.testing.assert_array_equal(view, before)  # unchanged
        in_place = base.copy()
        target = view_of(in_place)
        target[index] = 0.25
        axes = list(range(view.ndim))
        for reduce in (np.sum, lambda a: np.einsum(a, axes, weights, axes, []),
                       lambda a: np.dot(a.ravel(), weights.ravel())):
            assert reduce(copied) == reduce(target), (case, view.strides)


def test_the_copy_method_is_c_ordered_as_in_numpy():
    # arrays seed 841962: `x.copy()` became numpy.copy(x), which keeps a transposed x's
    # Fortran order where ndarray.copy makes a C-ordered array; the mean added the
    # numbers in another order, and value_and_grad's value differed in its last bit
    from arrays import program

    func = program("def probe(W):\n"
                   "    running = 0.9 * np.tanh(np.linalg.pinv(np.eye(2, 3) + 0.2).T)\n"
                   "    y = running.copy()\n"
                   "    y[1] = 1.0\n"
                   "    return np.mean(y) + np.sum(W * y)\n")
    W = numpy.linspace(-1.0, 1.0, 6).reshape(2, 3)
    value, gradient = srcdiff.value_and_grad(func)(W)
    assert value == func(W)
    running = 0.9 * numpy.tanh(numpy.linalg.pinv(numpy.eye(2, 3) + 0.2).T)
    y = running.copy()
    y[1] = 1.0
    numpy.testing.assert_array_equal(gradient, y)
    assert "numpy.copy(running, order='C')" in srcdiff.source(srcdiff.grad(func), W)
    orders = program("def probe(x):\n"  # an order given is kept, the method's or the function's
                     "    a = x.T.copy(order='F')\n"
                     "    b = np.copy(x.T, order='F')\n"
                     "    return np.sum(a * b * x.T)\n")
    X = numpy.linspace(0.5, 2.0, 6).reshape(2, 3)
    numpy.testing.assert_allclose(srcdiff.grad(orders)(X), 3 * X ** 2, rtol=1e-14)
    assert srcdiff.value_and_grad(orders)(X)[0] == orders(X)


def test_unpacking_checks_the_number_of_items_as_python_does(tmp_path):
    # a, b = v read v[0] and v[1] whatever v's length: where Python raises ValueError the
    # gradient went on (found reviewing W, b = params[0], 2026-12-05)
    from arrays import program

    pair = program("def probe(v):\n    a, b = v\n    return a * b\n")
    numpy.testing.assert_array_equal(srcdiff.grad(pair)(numpy.array([1.5, 2.0])), [2.0, 1.5])
    for v, message in ((numpy.array([1.0, 2.0, 3.0]), "too many values to unpack \\(expected 2\\)"),
                       (numpy.array([1.0]), "not enough values to unpack \\(expected 2, got 1\\)")):
        with pytest.raises(ValueError, match=message):
            pair(v)
        for transform in (srcdiff.grad, srcdiff.value_and_grad):
            with pytest.raises(ValueError, match=message):
                transform(pair)(v)
        with pytest.raises(ValueError, match=message):
            srcdiff.jvp(pair)(v, numpy.ones_like(v))
    shape = program("def probe(X):\n    n, d = X.shape\n    return np.sum(X) * n * d\n")
    numpy.testing.assert_array_equal(srcdiff.grad(shape)(numpy.ones((2, 3))), numpy.full((2, 3), 6.0))
    with pytest.raises(ValueError, match="too many values to unpack"):
        srcdiff.grad(shape)(numpy.ones((2, 3, 4)))


def test_the_unpacking_check_reads_the_builtins_whatever_the_module_binds(tmp_path):
    from arrays import program

    shadowed = program("def probe(v):\n    a, b = v\n    return a * b * len\n", len=3.0,
                       ValueError=KeyError)
    numpy.testing.assert_array_equal(srcdiff.grad(shadowed)(numpy.array([1.5, 2.0])), [6.0, 4.5])
    with pytest.raises(ValueError, match="too many values to unpack"):
        srcdiff.grad(shadowed)(numpy.array([1.0, 2.0, 3.0]))


# -- complex numbers: refused, never read as real ----------------------------------------
def test_complex_data_is_refused_where_it_is_read():
    # abs(np.sum(w * C)) with a module's complex array C gave the gradient of the real
    # parts' sum (w itself: [1, 0.5] where central differences give [0.684, 0.646]), and
    # np.abs(w * C[0]) a negative one: silently wrong (found reviewing calls on constants)
    from arrays import program
    weights = numpy.array([1.0, 0.5])
    complex_array = numpy.array([1 + 2j, 0.5 - 1j])
    globals_ = program("def probe(w):\n    return abs(np.sum(w * C))\n", C=complex_array)
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match=r"`C` is complex \(complex128\): complex numbers are not "
                             r"supported") as caught:
        srcdiff.grad(globals_)(weights)
    assert caught.value.source_line.strip() == "return abs(np.sum(w * C))"
    item = program("def probe(w):\n    return np.sum(np.abs(w * C[0]))\n", C=complex_array)
    with pytest.raises(srcdiff.UnsupportedSyntaxError, match="`C` is complex"):
        srcdiff.grad(item)(weights)
    scalar = program("def probe(x):\n    return abs(x * Z)\n", Z=1 + 2j)
    with pytest.raises(srcdiff.UnsupportedSyntaxError, match=r"`Z` is complex \(complex\)"):
        srcdiff.grad(scalar)(0.5)
    passed = program("def probe(w, c):\n    return abs(np.sum(w * c))\n")
    for transform in (srcdiff.grad, srcdiff.value_and_grad):
        with pytest.raises(srcdiff.ArgumentKindError, match=re.escape(
                "argument 'c' is complex (complex128): srcdiff differentiates real "
                "arithmetic; complex numbers are not supported")):
            transform(passed)(weights, complex_array)
    with pytest.raises(srcdiff.ArgumentKindError, match="argument 'c' is complex"):
        srcdiff.jvp(passed)(weights, complex_array, weights)
    with pytest.raises(srcdiff.ArgumentKindError, match=r"argument 'c' is complex \(complex\)"):
        srcdiff.grad(passed)(weights, 2j)


@pytest.mark.parametrize("made", ["np.zeros(2, dtype=complex) + w", "w.astype(complex)",
                                  "np.asarray(w, dtype=np.complex128)",
                                  "np.asarray(w, dtype='complex64')"])
def test_arrays_made_complex_are_refused(made):
    from arrays import program
    func = program(f"def probe(w):\n    z = {made}\n    return np.sum(np.abs(z))\n")
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match=r"complex numbers are not supported \(srcdiff differentiates "
                             r"real arithmetic\)") as caught:
        srcdiff.grad(func)(numpy.array([1.0, -0.5]))
    assert caught.value.lineno == 2


def test_a_real_dtype_is_still_accepted():
    from arrays import program
    func = program("def probe(w):\n    return np.sum(np.abs(np.asarray(w, dtype='float64')))\n")
    numpy.testing.assert_array_equal(srcdiff.grad(func)(numpy.array([1.0, -0.5])), [1.0, -1.0])


# -- the kind of what a recursive call returns -------------------------------------------
def power_by_recursion(x, n):
    if n == 0:
        return 1.0
    return x * power_by_recursion(x, n - 1)


def recursion_until_told(x, mode="go"):
    if mode == "stop":
        return x
    return recursion_until_told(x * 2.0, "stop")


def test_a_recursive_call_on_arrays_may_return_an_array():
    # A recursive call's result was taken for a number whatever its arguments: x * rec(x,
    # n - 1) of an array x (the base case a number) summed the adjoint of what is an array,
    # and a copy whose base case a constant test folded away (mode="go") lost the array
    # kind the base case gave: both silently wrong (found when tests of integers were
    # folded too, which made the second reachable from `if n == 0`)
    x = numpy.array([0.7, -0.2])
    powers = program("def probe(x):\n    return np.sum(power_by_recursion(x, 3))\n",
                     power_by_recursion=power_by_recursion)
    numpy.testing.assert_allclose(srcdiff.grad(powers)(x), 3 * x ** 2, rtol=1e-14)
    told = program("def probe(x):\n    return np.sum(recursion_until_told(x) * x)\n",
                   recursion_until_told=recursion_until_told)
    numpy.testing.assert_allclose(srcdiff.grad(told)(x), 4 * x, rtol=1e-14)
    # of numbers, the same functions give numbers, as before
    assert srcdiff.grad(power_by_recursion)(0.7, 3) == pytest.approx(3 * 0.49, rel=1e-14)


def recursive_sum(x, n):
    if n == 0:
        return numpy.sum(x)
    return recursive_sum(x * 1.5, n - 1)


def test_a_recursion_of_arrays_may_return_a_number():
    # what the callee returns is found from its own body (recursive_kind): a number here,
    # so the caller returns one (taking every recursive result for an array of unknown
    # rank refused this at the return). 2 * sum(1.5^3 x): 6.75 for each element
    x = numpy.array([0.7, -0.2])
    returned = program("def probe(x):\n    return recursive_sum(x, 3) * 2.0\n",
                       recursive_sum=recursive_sum)
    numpy.testing.assert_allclose(srcdiff.grad(returned)(x), [6.75, 6.75], rtol=1e-14)
    assert srcdiff.jvp(returned)(x, numpy.array([1.0, -2.0]))[1] == pytest.approx(-6.75)
    summed = program("def probe(x):\n    return np.sum(recursive_sum(x, 3)) * 2.0\n",
                     recursive_sum=recursive_sum)
    numpy.testing.assert_allclose(srcdiff.grad(summed)(x), [6.75, 6.75], rtol=1e-14)


def ping(x, n):
    if n == 0:
        return numpy.sum(x)
    return pong(x * 2.0, n - 1)


def pong(x, n):
    if n == 0:
        return x
    return ping(numpy.sin(x), n - 1)


def test_a_mutual_recursion_whose_kind_depends_on_the_depth():
    # ping(x, 2) is a number, ping(x, 1) an array: both taken for an array (the join of
    # what ping and pong may return), which code for arrays computes right for a number.
    # By hand: ping(x, 2) = S = sum(sin(2x)); d/dx sum(S x) = S + sum(x) 2 cos(2x)
    x = numpy.array([0.7, -0.2, 0.4])
    func = program("def probe(x):\n    return np.sum(ping(x, 2) * x) + np.sum(ping(x, 1))\n",
                   ping=ping)
    S = numpy.sum(numpy.sin(2 * x))
    expected = S + numpy.sum(x) * 2 * numpy.cos(2 * x) + 2.0
    numpy.testing.assert_allclose(srcdiff.grad(func)(x), expected, rtol=1e-13)


# -- numpy.zeros(n) of a variable that can only hold a number is a 1-d array -----------------
# (a new user's power iteration, np.ones(A.shape[0]), was refused as returning an array of
# unknown rank; forward substitution with x = np.zeros(n), n = len(b), was refused as
# changing an array `s` in place that `b` may refer to: s = b[i] was taken for an array)
STEPS = 3


def power_iteration(A, w):
    v = np.ones(A.shape[0])
    for _ in range(5):
        v = A @ v
        v = v / np.linalg.norm(v)
    return v @ A @ v + w


def forward_substitution(L, b):
    n = len(b)
    x = np.zeros(n)
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= L[i, j] * x[j]
        x[i] = s / L[i, i]
    return np.sum(x ** 2)


def counted_shapes(a, w):
    n = a.shape[-1] - 1
    k = 0
    for _ in range(2):
        k = k + 1  # a number on every pass
    head = np.full(n, 2.0) * w * np.zeros(k + n // 2).size
    tail = np.ones(STEPS) * w  # a module's number
    return np.sum(head * a[1:]) + np.sum(tail ** 2)


np = numpy
SPD = numpy.array([[2.0, 0.5, 0.1], [0.5, 1.5, 0.3], [0.1, 0.3, 1.0]])
LOWER = numpy.array([[2.0, 0.0, 0.0], [0.5, 1.5, 0.0], [-0.3, 0.2, 1.2]])


def last_axis_shape(a, w):
    # shape[-1] (a negative item: found by the arrays generator), items read and written
    n = a.shape[-1] - 1
    sol = np.ones(n)
    rhs = a * w
    for i in range(n):
        acc = rhs[i]
        for j in range(i):
            acc -= 0.5 * sol[j]
        sol[i] = acc
    return np.sum(sol * sol)


@pytest.mark.parametrize("func, args", [
    (power_iteration, (SPD, 0.5)), (forward_substitution, (LOWER, numpy.array([1.0, -2.0, 0.5]))),
    (counted_shapes, (numpy.array([0.3, -1.2, 0.8, 2.0]), 0.7)),
    (last_axis_shape, (numpy.array([0.3, -1.2, 0.8, 2.0]), 0.7))],
    ids=["power_iteration", "forward_substitution", "counted_shapes", "last_axis_shape"])
def test_a_shape_that_can_only_be_a_number(func, args):
    want = numeric_gradient(func, args, (0, 1))
    got = srcdiff.grad(func, wrt=(0, 1))(*args)
    for g, n in zip(got, want):
        numpy.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-9)
    tangent = numpy.linspace(-1.0, 1.0, args[0].size).reshape(args[0].shape)
    assert srcdiff.jvp(func)(*args, tangent)[1] == pytest.approx(
        float(numpy.sum(want[0] * tangent)), rel=1e-6)
    first = func.__code__.co_varnames[0]
    reference = generate(func, (first,), name="g", kinds={first: array(args[0].ndim)},
                         optimize=False).function(*args)
    numpy.testing.assert_allclose(reference, got[0], rtol=1e-12, atol=1e-14)


def test_ones_of_a_length():
    # the example the refusal of an unknown rank gave: now a 1-d array
    func = program("def probe(w, y):\n"
                   "    k = np.ones(len(y)) * w\n"
                   "    return np.dot(k, y)\n")
    assert srcdiff.grad(func)(0.5, numpy.array([1.0, 2.0, -0.5])) == pytest.approx(2.5)


def shaped_by_a_tuple(a):
    s = a.shape  # a tuple: np.zeros(s) has as many axes as a
    return np.sum(np.zeros(s) + a * a)


def shaped_by_a_parameter(a, n):
    return np.ones(n) @ a  # n a number: a 1-d array; n a tuple: a rank srcdiff cannot tell


def test_shapes_that_may_be_tuples_are_not_taken_for_numbers():
    a = numpy.array([[1.0, 2.0], [3.0, -1.0]])
    numpy.testing.assert_allclose(srcdiff.grad(shaped_by_a_tuple)(a), 2 * a, rtol=1e-14)
    gradient = srcdiff.grad(shaped_by_a_parameter)
    # given a number, n is one in the code made for it (the code for a tuple is another)
    numpy.testing.assert_array_equal(gradient(numpy.array([1.0, 2.0]), 2), [1.0, 1.0])
    for shape in ((2,), [2]):
        with pytest.raises(srcdiff.KindError, match="cannot tell that shaped_by_a_parameter"):
            gradient(numpy.array([1.0, 2.0]), shape)
    numpy.testing.assert_array_equal(gradient(numpy.array([1.0, 2.0]), 2), [1.0, 1.0])


# -- a module's own `numpy` or `math` that is not the module (found by a helper on
# 2026-12-05: the generated code read the module where the function reads the number) --

@pytest.mark.parametrize("shadowed", ["numpy", "math"])
def test_a_global_named_like_a_module_the_code_uses(shadowed):
    # f = sum(x * 3) + sum(sin(x)) (or the number 3x + sin x): the gradient 3 + cos(x)
    func = program("def probe(x):\n"
                   f"    return np.sum(x * {shadowed}) + np.sum(np.sin(x))\n",
                   **{shadowed: 3.0})
    x = numpy.array([1.0, 2.0])
    numpy.testing.assert_allclose(srcdiff.grad(func)(x), 3.0 + numpy.cos(x), rtol=1e-15)
    assert srcdiff.jvp(func)(x, numpy.ones(2))[1] == pytest.approx(float(numpy.sum(3.0 + numpy.cos(x))))
    scalar = program(f"def probe(a):\n    return a * {shadowed} + math_.sin(a)\n",
                     math_=math, **{shadowed: 3.0})
    assert srcdiff.grad(scalar)(2.0) == pytest.approx(3.0 + math.cos(2.0), rel=1e-15)
    assert srcdiff.hessian(scalar)(2.0) == pytest.approx(-math.sin(2.0), rel=1e-15)


# -- the gradient made at decoration, for numbers, must not refuse what only arrays make right --
# (the arrays generator's forward substitution, its arrays given in a tuple: taken for
# numbers, `L = np.diag(b)` had an unknown rank, `acc = rhs[i]` with it, and `acc -= ...`
# was refused as changing an array `rhs` may hold, at decoration)

def substitution_of_a_pair(p):
    x, b = p
    rhs = b
    L = np.diag(b) + 1.0
    for i in range(2):
        acc = rhs[i]
        for j in range(i):
            acc -= L[i, j]
    return np.sum(x) + acc


def aliased_numbers(a):
    v = np.zeros(2) + a
    w = v
    v[0] = a * 2.0  # changes the array w holds, and w is read after
    return w[0] + v[1]


def test_a_refusal_that_depends_on_the_kinds_waits_for_the_first_call():
    # acc = b[1] - (b[1] + 1.0)... by hand: d/dx sum(x) = 1; d/db acc (i = 1): b[1] - L[1, 0],
    # L[1, 0] = 1.0: the derivative is [0, 1]
    gradient = srcdiff.grad(substitution_of_a_pair)
    x, b = numpy.array([0.8, -0.7, 1.3]), numpy.array([-1.05, 0.46])
    got = gradient((x, b))
    numpy.testing.assert_array_equal(got[0], numpy.ones(3))
    numpy.testing.assert_array_equal(got[1], [0.0, 1.0])
    # a refusal made for numbers is still given for numbers, at the call
    refused = srcdiff.grad(aliased_numbers)
    with pytest.raises(srcdiff.UnsupportedSyntaxError, match="`v` is changed in place while `w`"):
        refused(0.5)


# -- a method's options are checked as its function's (a new user's x.reshape(2, 2,
# order="F"), X.ravel(order="F"), X.trace(offset=1), X.trace(dtype=int) had their option
# dropped: silently wrong gradients; X.trace(1) and X.swapaxes(axis1=0, axis2=1) internal) --

@pytest.mark.parametrize("call, option", [
    ("x.reshape(2, 2, order='F')", "order"), ("x.ravel(order='F')", "order"),
    ("x.flatten(order='F')", "order"), ("X.trace(offset=1)", "offset"),
    ("X.trace(dtype=int)", "dtype"), ("X.var(correction=1)", "correction")])
def test_a_method_option_the_rule_does_not_take_is_refused(call, option):
    func = program(f"def probe(x):\n    X = x.reshape(2, 2)\n    return np.sum({call} * x[0])\n")
    with pytest.raises(srcdiff.UnsupportedSyntaxError,
                       match=f"has no parameter '{option}' that srcdiff differentiates") as caught:
        srcdiff.grad(func)(numpy.array([0.3, -0.7, 1.1, 0.5]))
    assert caught.value.lineno == 3


@pytest.mark.parametrize("call, count", [("X.trace(1)", 2), ("X.swapaxes(axis1=0, axis2=1)", 1)])
def test_a_method_with_arguments_no_rule_takes_is_refused(call, count):
    # (ndarray.swapaxes takes no keywords: the function raises TypeError)
    func = program(f"def probe(x):\n    X = x.reshape(2, 2)\n    return np.sum({call})\n")
    with pytest.raises(srcdiff.MissingRuleError,
                       match=f"srcdiff has no rule for with {count} argument"):
        srcdiff.grad(func)(numpy.array([0.3, -0.7, 1.1, 0.5]))


def methods_with_their_options(x):
    X = x.reshape(2, 2)
    return (np.sum(X.ravel() * C4) + X.trace() + X.var(ddof=1) + np.sum(X.swapaxes(0, 1) * W2)
            + np.sum(X.sum(axis=0, keepdims=True) * C2) + np.sum(X.diagonal(offset=1)))


C4 = numpy.array([1.0, 2.0, 3.0, 4.0])
W2 = numpy.array([[1.0, -1.0], [0.5, 2.0]])
C2 = numpy.array([[3.0, -2.0]])


def test_methods_with_options_the_rules_take():
    x = numpy.array([0.3, -0.7, 1.1, 0.5])
    # ravel: C4; trace: x0 + x3; var(ddof=1) of 4: 2 (x - mean) / 3; swapaxes: W2.T flat;
    # column sums times C2: x0, x2 take 3, x1, x3 take -2; diagonal(offset=1): x1
    expected = C4 + numpy.array([1.0, 0.0, 0.0, 1.0]) + 2 * (x - x.mean()) / 3 \
        + W2.T.ravel() + numpy.array([3.0, -2.0, 3.0, -2.0]) + numpy.array([0.0, 1.0, 0.0, 0.0])
    numpy.testing.assert_allclose(srcdiff.grad(methods_with_their_options)(x), expected,
                                  rtol=1e-14)


# -- numpy.stack and concatenate of one value holding the arrays (an array's rows): the
# reverse rule read the list's items and failed (internal error; a new user's trial) ------

@pytest.mark.parametrize("join", ["stack", "concatenate", "vstack", "hstack"])
def test_a_join_of_an_array_is_refused_in_reverse_mode(join):
    func = program(f"def probe(X):\n    return np.sum(np.{join}(X) ** 2)\n")
    X = numpy.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(srcdiff.KindError, match=f"numpy.{join} is differentiated for a list "
                       "or tuple of arrays written out"):
        srcdiff.grad(func)(X)
    # forward mode joins the tangent's rows as the function joins X's: 2 sum(X T)
    T = numpy.array([[0.5, -1.0], [2.0, 0.25]])
    assert srcdiff.jvp(func)(X, T)[1] == pytest.approx(2 * float(numpy.sum(X * T)))
