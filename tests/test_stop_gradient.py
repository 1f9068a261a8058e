"""srcdiff.stop_gradient: the identity, whose derivative srcdiff takes as zero. Expected
derivatives are written from the mathematics, with the stopped value a constant."""

import math
import subprocess
import sys

import numpy
import pytest

import srcdiff
from srcdiff.kinds import array
from srcdiff.pipeline import OPTIMIZATIONS, generate


def scaled_sines(x, y):
    c = srcdiff.stop_gradient(x * y)
    s = 0.0
    for i in range(3):
        s = s + math.sin(c * x) + y
    return s


def centred_energy(w):
    m = srcdiff.stop_gradient(np.mean(w))
    return np.sum((w - m) ** 2)


np = numpy
SETTINGS = [dict(), dict(optimize=False)] + [dict(disable=(p,)) for p in OPTIMIZATIONS]


def test_derivatives_do_not_flow_through_it():
    x, y = 0.7, 1.3
    c = x * y                      # held constant
    dx, dy = 3 * c * math.cos(c * x), 3.0
    assert scaled_sines(x, y) == pytest.approx(3 * math.sin(c * x) + 3 * y)
    assert srcdiff.grad(scaled_sines, wrt=(0, 1))(x, y) == pytest.approx((dx, dy), rel=1e-12)
    for setting in SETTINGS:
        got = generate(scaled_sines, ("x", "y"), name="g", **setting).function(x, y)
        assert got == pytest.approx((dx, dy), rel=1e-12), setting
    assert srcdiff.jvp(scaled_sines, wrt=(0, 1))(x, y, 1.0, 2.0)[1] == pytest.approx(
        dx + 2 * dy, rel=1e-12)
    second = -3 * c * c * math.sin(c * x)
    assert srcdiff.hessian(scaled_sines)(x, y) == pytest.approx(second, rel=1e-10)
    assert srcdiff.grad(srcdiff.grad(scaled_sines))(x, y) == pytest.approx(second, rel=1e-10)
    # the reverse-mode code reads the value directly
    assert "stop_gradient(" not in srcdiff.source(srcdiff.grad(scaled_sines))


def test_on_arrays():
    w = numpy.array([0.5, 1.5, -1.0])
    expected = 2 * (w - w.mean())  # the mean held constant (the true gradient is the same
    # here only because sum(w - mean) = 0; for a weighted loss it would differ)
    numpy.testing.assert_allclose(srcdiff.grad(centred_energy)(w), expected, rtol=1e-12)
    for setting in SETTINGS:
        got = generate(centred_energy, ("w",), name="g", kinds={"w": array(1)},
                       **setting).function(w)
        numpy.testing.assert_allclose(got, expected, rtol=1e-12)


def weighted(w):
    scale = srcdiff.stop_gradient(np.sum(w * w))
    return np.sum(w) * scale


def test_on_arrays_where_it_matters():
    w = numpy.array([0.5, 1.5, -1.0])
    expected = numpy.full(3, numpy.sum(w * w))   # without the stop: + 2 w sum(w)
    numpy.testing.assert_allclose(srcdiff.grad(weighted)(w), expected, rtol=1e-12)


def test_check_grad_holds_stopped_values_at_the_point():
    """Central differences would see the identity; check_grad replays the values
    stop_gradient returned at the point, as srcdiff takes them."""
    srcdiff.check_grad(scaled_sines, 0.7, 1.3, wrt=(0, 1), order=2)
    srcdiff.check_grad(weighted, numpy.array([0.5, 1.5, -1.0]))


def test_standalone_modules_do_not_need_srcdiff(tmp_path):
    (tmp_path / "model.py").write_text(
        "import math\nimport srcdiff\n\n\ndef f(x: float, y: float):\n"
        "    c = srcdiff.stop_gradient(x * y)\n    return math.sin(c * x) + y\n")
    result = subprocess.run([sys.executable, "-m", "srcdiff", "generate", "model.py"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "model_grad.py").read_text()
    assert "srcdiff" not in text.split('"""')[-1]   # below the docstring: no srcdiff at all
    check = ("import sys; sys.modules['srcdiff'] = None\n"
             "import types, math\n"
             "sys.modules['model'] = types.ModuleType('model')\n"
             "import model_grad\n"
             "c = 0.7 * 1.3\n"
             "got = model_grad.grad_f(0.7, 1.3)\n"
             "assert abs(got[0] - c * math.cos(c * 0.7)) < 1e-12 and got[1] == 1.0, got\n")
    result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
