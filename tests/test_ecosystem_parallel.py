"""Gradients in the tools users map them with: joblib (the loky and multiprocessing
backends) and a real Dask cluster of worker processes (``distributed.LocalCluster``).

They travel as ``pickle`` (and cloudpickle, which joblib and Dask use) write functions:
by reference (``srcdiff.pickling``); each worker imports the model module and generates
the gradient's code itself. Every result is compared with the same gradient called here,
and srcdiff's errors raised in a worker come back as the same class with the same
message and location. These tests skip only when joblib or dask[distributed] is not
installed (the ``test`` extra installs both), and say so in pytest's summary (``-rs``).
"""

import logging
import os
import pickle
import sys
import textwrap

import numpy
import pytest

import srcdiff

MODEL = '''
import math
import os

import numpy as np


def loss(w, b, x=0.5):
    return math.sin(w * x) + b * b * w


def fit(w, X):
    return np.sum(np.tanh(X @ w) ** 2)


def curve(w):  # an array: its gradient raises srcdiff's KindError where it is made
    return np.tanh(w) * w


def where(made, *args):
    """The worker's process id and ``made(*args)``: proof the call ran elsewhere."""
    return os.getpid(), made(*args)
'''

POINTS = [(0.013 * k - 1.0, 0.7 - 0.004 * k) for k in range(200)]
W, X = numpy.array([0.3, -0.7]), numpy.array([[1.0, 0.5], [0.2, -1.0], [0.3, 0.3]])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The model module, importable here and in every worker started after this (a
    worker process gets this process's ``sys.path`` when it starts)."""
    folder = tmp_path_factory.mktemp("ecosystem")
    (folder / "ecosystem_model.py").write_text(textwrap.dedent(MODEL))
    sys.path.insert(0, str(folder))
    try:
        import ecosystem_model
        yield ecosystem_model
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("ecosystem_model", None)


def serial_errors(model):
    """The errors the two failing calls raise in this process (class, message)."""
    found = []
    for call in (lambda: srcdiff.grad(model.curve)(numpy.ones(2)),
                 lambda: srcdiff.grad(model.loss, wrt=(0, 1))("a", 1.0)):
        with pytest.raises(srcdiff.SrcdiffError) as info:
            call()
        found.append(info.value)
    return found


def assert_same_error(there, here):
    assert type(there) is type(here) and str(there) == str(here)
    for field in ("filename", "lineno", "col", "hint"):
        assert getattr(there, field, None) == getattr(here, field, None), field


def test_they_pickle_by_reference_for_cloudpickle_too(model):
    """joblib and Dask send functions with cloudpickle, which would otherwise copy a
    function by value; a gradient goes by its name, as with pickle."""
    cloudpickle = pytest.importorskip("cloudpickle", reason="cloudpickle comes with joblib "
                                      "and dask; neither is installed")
    gradient = srcdiff.grad(model.loss, wrt=(0, 1))
    sent = cloudpickle.dumps(gradient)
    assert b"srcdiff.pickling" in sent and b"grad|ecosystem_model|loss|w,b|tuple" in sent
    assert len(sent) < 200 and pickle.loads(sent) is gradient


# -- joblib -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def joblib(model):
    joblib = pytest.importorskip("joblib", reason="joblib is not installed: pip install "
                                 "-e '.[test]' installs it")
    yield joblib
    from joblib.externals.loky import get_reusable_executor
    get_reusable_executor().shutdown(wait=True)  # its workers know this module's sys.path


@pytest.mark.parametrize("backend", ["loky", "multiprocessing"])
def test_joblib_parallel(joblib, model, backend):
    gradient = srcdiff.grad(model.loss, wrt=(0, 1))
    value_and_gradient = srcdiff.value_and_grad(model.fit)
    # the timeout: an error that cannot be unpickled would hang the pool, not fail
    with joblib.Parallel(n_jobs=2, backend=backend, timeout=60) as parallel:
        results = parallel(joblib.delayed(model.where)(gradient, w, b) for w, b in POINTS)
        pids = {pid for pid, _ in results}
        assert os.getpid() not in pids
        assert [result for _, result in results] == [gradient(w, b) for w, b in POINTS]
        arrays = parallel(joblib.delayed(value_and_gradient)(W * k, X) for k in range(4))
        for k, (value, slope) in enumerate(arrays):
            expected = value_and_gradient(W * k, X)
            assert value == expected[0]
            numpy.testing.assert_array_equal(slope, expected[1])
        for call, here in zip((joblib.delayed(srcdiff.grad(model.curve))(numpy.ones(2)),
                               joblib.delayed(gradient)("a", 1.0)), serial_errors(model)):
            with pytest.raises(srcdiff.SrcdiffError) as info:
                parallel([call])
            assert_same_error(info.value, here)


# -- Dask -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(model):
    """A Dask cluster of two worker processes, one thread each, on this machine: the
    same scheduler, workers and wire format as a cluster of many machines."""
    pytest.importorskip("distributed", reason="dask[distributed] is not installed: pip "
                        "install -e '.[test]' installs it")
    from distributed import Client, LocalCluster
    # ":0": any free port for the dashboard (CI runs three of these clusters at once)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster:
        with Client(cluster) as client:
            yield client
    # distributed leaves one idle thread behind ("Dask-Offload"); later tests fork this
    # process (test_pickling), which Python warns against in a multi-threaded process
    import distributed.utils
    offload = getattr(distributed.utils, "_offload_executor", None)
    if offload is not None:
        offload.shutdown(wait=True)


def test_dask_client_map_gives_the_serial_results(client, model):
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2 and all(w["nthreads"] == 1 for w in workers.values())
    gradient = srcdiff.grad(model.loss, wrt=(0, 1))
    ws, bs = [w for w, _ in POINTS], [b for _, b in POINTS]
    futures = client.map(model.where, [gradient] * len(POINTS), ws, bs)
    results = [future.result(timeout=60) for future in futures]
    worker_pids = set(client.run(os.getpid).values())
    assert {pid for pid, _ in results} <= worker_pids and os.getpid() not in worker_pids
    assert [result for _, result in results] == [gradient(w, b) for w, b in POINTS]
    hessian = srcdiff.hessian(model.fit)
    there = [f.result(timeout=60) for f in client.map(hessian, [W * k for k in range(4)],
                                                      [X] * 4)]
    for k, matrix in enumerate(there):
        numpy.testing.assert_array_equal(matrix, hessian(W * k, X))


def test_dask_errors_come_back_as_srcdiff_errors(client, model):
    """KindError (located: file, line, caret, hint) and ArgumentKindError (a TypeError
    too), raised in a worker, reach the caller as the same class and message."""
    calls = [client.submit(srcdiff.grad(model.curve), numpy.ones(2), pure=False),
             client.submit(srcdiff.grad(model.loss, wrt=(0, 1)), "a", 1.0, pure=False)]
    for future, here in zip(calls, serial_errors(model)):
        with pytest.raises(srcdiff.SrcdiffError) as info:
            future.result(timeout=60)
        assert_same_error(info.value, here)
    assert isinstance(info.value, TypeError)
