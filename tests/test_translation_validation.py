"""Translation validation: every program of every collection, differentiated with the
optimiser on, off, and with each optimisation switched off alone, gives the same
gradient. An optimisation that changes a single number here is wrong.

Collections: tests/programs.py (scalar), tests/programs_control.py (control flow),
tests/programs_calls.py (calls, recursion), tests/programs_lists.py (lists,
comprehensions), tests/programs_try.py (`try` around constants), tests/programs_raise.py
(`raise`), tests/regressions_module.py (issue 11), the
golden programs, the examples' functions; the random program collections (tests/fuzz)
do the same for thousands of generated programs.
"""

import importlib.util
import pathlib

import numpy
import pytest

import programs
import programs_calls
import programs_control
import programs_lists
import programs_raise
import programs_try
import regressions_module
from srcdiff.kinds import array
from srcdiff.pipeline import OPTIMIZATIONS, generate

SETTINGS = [("optimised", {}), ("unoptimised", {"optimize": False})] + [
    (f"without {name}", {"disable": (name,)}) for name in OPTIMIZATIONS]
EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def _example(name, function):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, function)


def _collection():
    cases = [(func, point) for func, point, _ in programs.PROGRAMS]
    cases += list(programs_control.CONTROL) + list(programs_calls.CALLS)
    cases += [(func, point) for func, point, _ in programs_lists.LISTS]
    cases += list(programs_try.TRY) + list(programs_raise.RAISE)
    m = regressions_module
    vector = numpy.array([0.3, -0.4, 0.5])
    cases += [(m.sine_of_sum, (0.9,)), (m.two_states, (0.9,)), (m.bisection, (3.0,)),
              (m.lambda_rebound, (0.7,)), (m.evaluation_order, (0.7,)),
              (m.parameter_reassigned_in_branch, (1.2,)), (m.value_after_loop, (0.8,)),
              (m.copy_then_overwrite, (0.8, 1.3)), (m.hoisted_then_reassigned, (0.4,)),
              (m.numpy_sine_map, (0.8,)), (m.scale_in_loop, (vector, 0.9)),
              (m.accumulate_number_into_array, (vector, 0.7)),
              (m.normalise_in_loop, (vector,)), (m.add_repeated_aliasing, (vector,)),
              (m.mean_of_list, (vector,)), (m.huber, (vector,)), (m.shekel_like, (vector,)),
              (m.matrix_item_assignment, (numpy.array([[0.5, 0.2], [0.3, 0.9]]),))]
    rng = numpy.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), (rng.random(20) > 0.5) * 1.0
    cases += [(_example("black_scholes", "call_price"), (100.0, 95.0, 0.03, 0.2, 0.5)),
              (_example("piecewise_loss", "huber_loss"), (0.7, 1.0)),
              (_example("newton", "cbrt_newton"), (2.0,)),
              (_example("ode_parameters", "final_position"), (0.3, 2.0, 1.1, 200)),
              (_example("lecture_graph", "e_graph"), (2.0, 4.0)),
              (_example("logistic_regression", "loss"), (rng.normal(size=3), 0.1, X, y)),
              (_example("two_layer_network", "loss"),
               (rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=4), 0.2, X, y)),
              (_example("gaussian_mixture", "negative_log_likelihood"),
               (rng.normal(size=12), rng.normal(size=(20, 2))))]
    return cases


def _float_positions(point):
    """The parameters to differentiate: numbers and arrays, not counts (ints) nor data
    named X and y."""
    return tuple(i for i, v in enumerate(point) if isinstance(v, (float, numpy.ndarray)))


CASES = _collection()


@pytest.mark.parametrize("func, point", CASES, ids=[f"{f.__name__}-{i}" for i, (f, _) in
                                                     enumerate(CASES)])
def test_every_setting_gives_the_same_gradient(func, point):
    wrt = _float_positions(point)
    names = func.__code__.co_varnames
    kinds = {names[i]: array(numpy.ndim(v)) for i, v in enumerate(point)
             if isinstance(v, numpy.ndarray)}
    results = {}
    for label, setting in SETTINGS:
        generated = generate(func, tuple(names[i] for i in wrt), name="g", as_tuple=True,
                             kinds=kinds, **setting)
        results[label] = generated.function(*point)
    reference = results["unoptimised"]
    for label, gradient in results.items():
        for got, want in zip(gradient, reference):
            numpy.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14,
                                          err_msg=f"{label} differs from unoptimised")


@pytest.mark.parametrize("func, point", CASES, ids=[f"{f.__name__}-{i}" for i, (f, _) in
                                                     enumerate(CASES)])
def test_fuses_look_ahead_never_calls_a_live_value_dead(func, point):
    """``fuse`` asks "is this temporary dead after this statement" by looking ahead in
    its block (``fuse._Occurrences``) instead of solving liveness: on every program's
    finished code (reverse and forward mode), each name it calls dead after a statement
    is dead there by ``dataflow.Liveness`` too (it may call fewer dead, never more)."""
    import ast
    from srcdiff.dataflow import Liveness, reads, statements_of
    from srcdiff.errors import SrcdiffError
    from srcdiff.optimize.fuse import _SITES, _Occurrences
    names = func.__code__.co_varnames
    wrt = tuple(names[i] for i in _float_positions(point))
    kinds = {names[i]: array(numpy.ndim(v)) for i, v in enumerate(point)
             if isinstance(v, numpy.ndarray)}
    for mode in ("reverse", "forward"):
        try:
            generated = generate(func, wrt, name="g", mode=mode, with_value=mode == "forward",
                                 kinds=kinds, disable=("fuse",))
        except SrcdiffError:
            continue  # forward mode refuses a few of these (their own tests say which)
        body = ast.parse(generated.source).body[0].body[1:]  # the code fuse is given
        everything = statements_of(body)
        if any(type(s).__name__ in ("Break", "Continue") for s in everything):
            continue  # fuse asks Liveness itself there
        watch = {id(s): set(reads(s)) for s in everything if type(s) in _SITES and reads(s)}
        exact = Liveness(body, set(), watch=watch).after
        ahead = _Occurrences(body).live_after(watch)
        for key, asked in watch.items():
            if key in exact:
                assert exact[key] <= ahead[key], (exact[key] - ahead[key], generated.source)
