"""Gradients travel to other processes: they pickle by reference to their function and
are made again where they are loaded (``srcdiff.pickling``). Each result is compared with
the same gradient called in this process."""

import concurrent.futures
import multiprocessing
import pickle
import subprocess
import sys
import textwrap

import numpy
import pytest

import srcdiff
import regressions_module

MODEL = '''
import math
import numpy as np


def loss(w, b, x=0.5):
    return math.sin(w * x) + b * b * w


def fit(w, X):
    return np.sum(np.tanh(X @ w) ** 2)


def curve(w):
    return np.tanh(w) * w
'''


@pytest.fixture
def model(tmp_path, monkeypatch):
    (tmp_path / "pickled_model.py").write_text(textwrap.dedent(MODEL))
    monkeypatch.syspath_prepend(str(tmp_path))
    import pickled_model
    yield pickled_model
    sys.modules.pop("pickled_model", None)


def makers(model):
    return [srcdiff.grad(model.loss, wrt=(0, 1)), srcdiff.grad(model.loss, wrt="b"),
            srcdiff.value_and_grad(model.loss), srcdiff.jvp(model.loss, wrt=(0, 1)),
            srcdiff.vjp(model.curve), srcdiff.hvp(model.fit), srcdiff.hessian(model.fit),
            srcdiff.jacobian(model.curve, mode="forward")]


def test_a_gradient_is_the_same_object_after_a_round_trip(model):
    for made in makers(model):
        assert pickle.loads(pickle.dumps(made)) is made, made.__qualname__
    assert srcdiff.vjp(model.curve) is srcdiff.vjp(model.curve)


def test_a_fresh_interpreter_makes_them_again(model, tmp_path):
    w, X = numpy.array([0.3, -0.7]), numpy.array([[1.0, 0.5], [0.2, -1.0], [0.3, 0.3]])
    calls = [("loss", (0.3, 0.7)), ("loss", (0.3, 0.7)), ("loss", (0.3, 0.7)),
             ("loss", (0.3, 0.7, 1.0, 2.0)), ("curve", (w,)), ("fit", (w, X, w)),
             ("fit", (w, X)), ("curve", (w,))]
    here = []
    for made, (_, args) in zip(makers(model), calls):
        result = made(*args)
        here.append(result[1](numpy.ones(2)) if made.__name__.startswith("vjp") else result)
    program = textwrap.dedent("""
        import pickle, sys
        import numpy
        made, calls = pickle.load(sys.stdin.buffer)
        results = []
        for function, (_, args) in zip(made, calls):
            result = function(*args)
            results.append(result[1](numpy.ones(2)) if function.__name__.startswith("vjp")
                           else result)
        pickle.dump(results, sys.stdout.buffer)
    """)
    sent = pickle.dumps((makers(model), calls))
    result = subprocess.run([sys.executable, "-c", program], input=sent, capture_output=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    there = pickle.loads(result.stdout)
    assert len(there) == len(here)
    for a, b in zip(here, there):
        for x, y in zip(numpy.atleast_1d(numpy.asarray(a, dtype=object)).ravel(),
                        numpy.atleast_1d(numpy.asarray(b, dtype=object)).ravel()):
            numpy.testing.assert_array_equal(numpy.asarray(x, dtype=float),
                                             numpy.asarray(y, dtype=float))


POINTS = [(0.1 * k, 0.5 - 0.05 * k) for k in range(12)]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_process_pools(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    gradient = srcdiff.grad(regressions_module.parameter_reassigned_in_branch)
    serial = [gradient(x) for x, _ in POINTS]
    context = multiprocessing.get_context(method)
    with context.Pool(2) as pool:
        assert pool.map(gradient, [x for x, _ in POINTS]) == serial
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as executor:
        assert list(executor.map(gradient, [x for x, _ in POINTS])) == serial


def test_errors_in_a_worker_come_back(model):
    """srcdiff's error in a worker reaches the caller as that error, with its location
    (the worker generates the code: the function returns an array)."""
    gradient = srcdiff.grad(model.curve)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as executor:
        future = executor.submit(gradient, numpy.ones(2))
        with pytest.raises(srcdiff.KindError, match="curve.. returns an array") as info:
            future.result(timeout=120)
    assert info.value.filename.endswith("pickled_model.py") and info.value.lineno == 15


def test_gradients_of_closures_do_not_pretend():
    """A function that pickle cannot find by name gives a gradient that cannot be
    pickled either: pickle says so when dumping, not a worker when loading."""
    def local(x):
        return x * x
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(srcdiff.grad(local))
