"""The partials of ``numpy.logaddexp`` are logistic functions: in code of arrays they call
``srcdiff.runtime.expit`` (one ``exp`` a element, where ``0.5 + 0.5 * tanh(x / 2)`` costs
two to three times as much), in code of numbers ``math.tanh``. Checked here: the helper
against an independent formula and at the ends of the float range, without warnings;
gradients, Jacobian-vector and Hessian-vector products of programs using it against
central differences and against the derivative written out; the helper in the modules the
command writes and in numba's code."""

import math
import warnings

import numpy
import pytest

import srcdiff
from srcdiff.runtime import expit

from arrays import numeric_gradient

np = numpy
rng = numpy.random.default_rng(41)


def _sigmoid_by_tanh(x):
    """The logistic function as the rule was written before (an independent formula)."""
    return 0.5 + 0.5 * numpy.tanh(numpy.asarray(x, numpy.float64) / 2)


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32, numpy.float16])
def test_expit_is_the_logistic_function_in_the_argument_dtype(dtype):
    x = numpy.concatenate([rng.normal(scale=6, size=200), [-50.0, -1.0, 0.0, 1.0, 50.0]]).astype(dtype)
    got = expit(x)
    assert got.dtype == dtype and got.shape == x.shape
    tolerance = {numpy.float64: 1e-15, numpy.float32: 1e-6, numpy.float16: 2e-3}[dtype]
    numpy.testing.assert_allclose(got, _sigmoid_by_tanh(x), rtol=tolerance, atol=tolerance)


def test_expit_at_the_ends_of_the_range_is_exact_and_quiet():
    x = numpy.array([-1e300, -800.0, -700.0, 745.0, 800.0, 1e300, -numpy.inf, numpy.inf])
    with warnings.catch_warnings(), numpy.errstate(all="raise"):
        warnings.simplefilter("error")
        got = expit(x)
    assert got.tolist() == [0.0, 0.0, 1 / (1 + math.exp(700.0)), 1.0, 1.0, 1.0, 0.0, 1.0]
    assert numpy.isnan(expit(numpy.array([numpy.nan])))[0]


def margin_loss(w, X, y):
    return np.mean(np.logaddexp(0.0, -y * (X @ w)))


def two_sided(a, b):
    total = 0.0
    for k in range(2):  # in a loop, each operand an array
        total = total + np.sum(np.logaddexp(a * (k + 1), b) ** 2)
    return total


X = rng.normal(size=(30, 4))
Y = numpy.where(rng.random(30) > 0.5, 1.0, -1.0)


def test_the_array_gradient_calls_the_helper_and_computes_no_loss_array():
    w = rng.normal(size=4)
    text = srcdiff.source(srcdiff.grad(margin_loss), w, X, Y)
    assert "expit(" in text and "tanh" not in text
    assert "logaddexp(" not in text.replace("# grad of: logaddexp = np.logaddexp(0.0, mul)", "")


def test_the_gradient_is_the_logistic_regression_gradient():
    w = rng.normal(size=4)
    margins = -Y * (X @ w)
    written_out = X.T @ (-Y / (1 + numpy.exp(-margins))) / len(Y)  # d/dm log(1 + e^m) = 1/(1 + e^-m)
    numpy.testing.assert_allclose(srcdiff.grad(margin_loss)(w, X, Y), written_out, rtol=1e-12)
    numpy.testing.assert_allclose(srcdiff.grad(margin_loss)(w, X, Y),
                                  numeric_gradient(margin_loss, (w, X, Y), (0,))[0], rtol=1e-6)


def test_far_margins_give_the_limits_without_warnings():
    w = numpy.array([400.0, 0.0, 0.0, 0.0])  # margins of thousands, either sign
    Xs = numpy.array([[3.0, 0, 0, 0], [-3.0, 0, 0, 0], [2.0, 0, 0, 0]])
    ys = numpy.array([1.0, 1.0, -1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = srcdiff.grad(margin_loss)(w, Xs, ys)
    # margins m = -y x0 w0: -1200 (row 0), 1200 (row 1), 800 (row 2), where the logistic
    # function is 0, 1 and 1 to the last bit. d/dw0 = mean(sigmoid(m) (-y x0)) = (0 + 3 + 2) / 3
    assert got[0] == pytest.approx(5 / 3, rel=1e-15) and got[1:].tolist() == [0.0, 0.0, 0.0]


def test_forward_and_second_order_through_the_helper():
    a, b = rng.normal(size=5), rng.normal(size=5)
    da, db = rng.normal(size=5), rng.normal(size=5)
    value, tangent = srcdiff.jvp(two_sided, wrt=(0, 1))(a, b, da, db)
    assert value == pytest.approx(two_sided(a, b), rel=1e-14)
    h = 1e-6
    numeric = (two_sided(a + h * da, b + h * db) - two_sided(a - h * da, b - h * db)) / (2 * h)
    assert tangent == pytest.approx(numeric, rel=1e-7)
    hvp = srcdiff.hvp(two_sided, wrt=(0, 1))(a, b, da, db)
    grad = srcdiff.grad(two_sided, wrt=(0, 1))
    for got, plus, minus in zip(hvp, grad(a + h * da, b + h * db), grad(a - h * da, b - h * db)):
        numpy.testing.assert_allclose(got, (plus - minus) / (2 * h), rtol=1e-6, atol=1e-8)
    # the forward code calls the helper; its gradient differentiates that call
    assert "expit(" in srcdiff.source(srcdiff.jvp(two_sided, wrt=(0, 1)), a, b, da, db)


def test_numbers_keep_the_tanh_form():
    def scalar_margin(m):
        return np.logaddexp(0.0, m)
    text = srcdiff.source(srcdiff.grad(scalar_margin), 0.3)
    assert "expit" not in text and "math.tanh" in text
    assert srcdiff.grad(scalar_margin)(0.3) == pytest.approx(1 / (1 + math.exp(-0.3)), rel=1e-15)


def test_the_command_copies_the_helper(tmp_path):
    from srcdiff.cli import main
    source = tmp_path / "margins.py"
    source.write_text("import numpy as np\n\n\ndef margin_loss(w, X, y):\n"
                      "    return np.mean(np.logaddexp(0.0, -y * (X @ w)))\n")
    out = tmp_path / "margins_grad.py"
    assert main(["generate", str(source), "--types", "w=array[1],X=array[2],y=array[1]",
                 "--wrt", "w", "-o", str(out)]) == 0
    text = out.read_text()
    assert "\ndef expit(x):" in text
    assert not [line for line in text.splitlines()
                if line.startswith(("import", "from")) and "srcdiff" in line]
    namespace: dict = {}
    exec(compile(text, str(out), "exec"), namespace)
    w = rng.normal(size=4)
    numpy.testing.assert_allclose(namespace["grad_margin_loss"](w, X, Y),
                                  srcdiff.grad(margin_loss)(w, X, Y), rtol=1e-15)


def test_numba_compiles_the_helper():
    pytest.importorskip("numba")
    w = rng.normal(size=4)
    compiled = srcdiff.grad(margin_loss, compile="numba")
    numpy.testing.assert_allclose(compiled(w, X, Y), srcdiff.grad(margin_loss)(w, X, Y),
                                  rtol=1e-13)
