"""The functions ``srcdiff generate`` writes keep the primal's signature (defaults,
keyword-only and positional-only parameters), as ``grad_f`` always did: ``jvp_f`` and
``hvp_f`` take what ``srcdiff.jvp(f)`` and ``srcdiff.hvp(f)`` take (``f``'s arguments as
``f`` takes them, then the tangents by position), ``hessian_f`` takes ``f``'s arguments.

Regression: ``--mode hessian`` wrote ``hessian_kw(x, rate, power)`` for ``def kw(x, *,
rate=0.3, power=2.0)``, so ``hessian_kw(1.5)`` raised TypeError (and ``jvp_kw(x, rate,
power, d_x)`` alike). The modules are run where srcdiff cannot be imported; expected
values are the closed forms of the derivatives."""

import math
import sys
import textwrap

import pytest

import srcdiff
from tests.test_cli import run, run_without_srcdiff

MODEL = '''
import math

SCALE = 2.0


def kw(x, *, rate=0.3, power=2.0):
    return math.exp(-rate * x) * x ** power


def loop_sum(x, n=5):
    s = 0.0
    for i in range(n):
        s = s + x ** (i + 1) / (i + 1)
    return s


def two(x, y=2.0, *, scale=1.5):
    return scale * x * x * y + math.sin(y)


def ordered(x, y, /, *, c=1.0):
    return c * x * x * y


def shadowed(x, SCALE=SCALE):
    return SCALE * x * x
'''


def kw_derivatives(x, rate=0.3, power=2.0):
    """kw, its first and second derivatives in x."""
    e = math.exp(-rate * x)
    value = e * x ** power
    first = e * (power * x ** (power - 1) - rate * x ** power)
    second = e * (rate ** 2 * x ** power - 2 * rate * power * x ** (power - 1)
                  + power * (power - 1) * x ** (power - 2))
    return value, first, second


def loop_sum_derivatives(x, n=5):
    """sum x**i / i for i = 1..n, and its first and second derivatives."""
    return (sum(x ** i / i for i in range(1, n + 1)), sum(x ** (i - 1) for i in range(1, n + 1)),
            sum((i - 1) * x ** (i - 2) for i in range(2, n + 1)))



@pytest.fixture
def model(tmp_path):
    (tmp_path / "sig.py").write_text(textwrap.dedent(MODEL))
    return tmp_path


def test_hessian_module_keeps_defaults_and_keyword_only_parameters(model):
    result = run("generate", "sig.py", "--mode", "hessian", cwd=model)
    assert result.returncode == 0, result.stderr
    assert run("generate", "sig.py", "--mode", "hessian", "--check", cwd=model).returncode == 0
    text = (model / "sig_hessian.py").read_text()
    assert "def hvp_kw(x, d_x, *, rate=0.3, power=2.0):" in text
    assert "def hessian_kw(x, *, rate=0.3, power=2.0):" in text
    assert "def hessian_loop_sum(x, n=5):" in text
    assert "def hessian_two(x, y=2.0, *, scale=1.5):" in text
    assert "def hvp_ordered(x, y, /, d_x, *, c=1.0):" in text
    assert "def hessian_ordered(x, y, /, *, c=1.0):" in text
    lines = run_without_srcdiff("""
        import inspect
        import sig_hessian as m
        print(repr(m.hessian_kw(1.5)))
        print(repr(m.hessian_kw(1.5, rate=0.5, power=3.0)))
        print(repr(m.hvp_kw(1.5, 2.0)))
        print(repr(m.hvp_kw(1.5, 2.0, rate=0.5, power=3.0)))
        # a positional parameter with a default: the vector is the last positional argument
        print(repr([m.hessian_loop_sum(0.7), m.hessian_loop_sum(0.7, 3), m.hessian_loop_sum(0.7, n=3)]))
        print(repr([m.hvp_loop_sum(0.7, 2.0), m.hvp_loop_sum(0.7, 3, 2.0), m.hvp_loop_sum(0.7, 2.0, n=3)]))
        print(repr([m.hessian_two(1.3), m.hvp_two(1.3, 0.5, 2.0, scale=3.0)]))
        print(repr([m.hessian_ordered(2.0, 3.0), m.hvp_ordered(2.0, 3.0, 1.0, c=2.0)]))
        print(repr([m.hessian_shadowed(3.0), m.hessian_shadowed(3.0, 5.0)]))
        for call in (lambda: m.hessian_kw(), lambda: m.hvp_kw(1.5), lambda: m.hvp_loop_sum(),
                     lambda: m.hvp_two(1.3, 1.0, 2.0, 3.0, 4.0), lambda: m.hessian_kw(1.5, 0.3)):
            try:
                call()
            except TypeError:
                print("'TypeError'")
        print(repr(str(inspect.signature(m.hessian_two))))
    """, model)
    assert lines[0] == pytest.approx(kw_derivatives(1.5)[2], rel=1e-12)
    assert lines[1] == pytest.approx(kw_derivatives(1.5, 0.5, 3.0)[2], rel=1e-12)
    assert lines[2] == pytest.approx(2.0 * kw_derivatives(1.5)[2], rel=1e-12)
    assert lines[3] == pytest.approx(2.0 * kw_derivatives(1.5, 0.5, 3.0)[2], rel=1e-12)
    h5, h3 = loop_sum_derivatives(0.7)[2], loop_sum_derivatives(0.7, 3)[2]
    assert lines[4] == pytest.approx([h5, h3, h3], rel=1e-12)
    assert lines[5] == pytest.approx([2 * h5, 2 * h3, 2 * h3], rel=1e-12)
    # two: scale x² y + sin y, so ∂²/∂x² = 2 scale y
    assert lines[6] == pytest.approx([2 * 1.5 * 2.0, 2.0 * 2 * 3.0 * 0.5], rel=1e-12)
    assert lines[7] == pytest.approx([2 * 3.0, 2 * 2.0 * 3.0], rel=1e-12)  # 2 c y
    assert lines[8] == pytest.approx([2 * 2.0, 2 * 5.0], rel=1e-12)  # the default: SCALE
    assert lines[9:14] == ["TypeError"] * 5
    assert lines[14] == "(x, y=2.0, *, scale=1.5)"


def test_jvp_module_takes_the_decorated_jvp_calls(model):
    result = run("generate", "sig.py", "--mode", "jvp", cwd=model)
    assert result.returncode == 0, result.stderr
    assert run("generate", "sig.py", "--mode", "jvp", "--check", cwd=model).returncode == 0
    text = (model / "sig_jvp.py").read_text()
    assert "def jvp_kw(x, d_x, *, rate=0.3, power=2.0):" in text
    assert "def jvp_loop_sum(*arguments, **keywords):" in text
    assert "def _loop_sum_arguments(x, n=5):" in text
    calls = [("kw", (1.5, 1.0), {}), ("kw", (1.5, 2.0), {"rate": 0.5, "power": 3.0}),
             ("loop_sum", (0.7, 1.0), {}), ("loop_sum", (0.7, 3, 1.0), {}),
             ("loop_sum", (0.7, 1.0), {"n": 3}), ("two", (1.3, 1.0), {}),
             ("two", (1.3, 0.5, 1.0), {"scale": 3.0}), ("two", (1.3, 1.0), {"y": 0.5}),
             ("ordered", (2.0, 3.0, 1.0), {"c": 2.0}), ("shadowed", (3.0, 1.0), {}),
             ("shadowed", (3.0, 5.0, 1.0), {})]
    lines = run_without_srcdiff(
        "import sig_jvp\n" + "".join(f"print(repr(sig_jvp.jvp_{name}(*{args!r}, **{kwargs!r})))\n"
                                     for name, args, kwargs in calls), model)
    v, d, _ = kw_derivatives(1.5)
    expected = [(v, d)]
    v, d, _ = kw_derivatives(1.5, 0.5, 3.0)
    expected.append((v, 2.0 * d))
    v5, d5, _ = loop_sum_derivatives(0.7)
    v3, d3, _ = loop_sum_derivatives(0.7, 3)
    expected += [(v5, d5), (v3, d3), (v3, d3)]
    expected += [(1.5 * 1.3 ** 2 * 2.0 + math.sin(2.0), 2 * 1.5 * 1.3 * 2.0),
                 (3.0 * 1.3 ** 2 * 0.5 + math.sin(0.5), 2 * 3.0 * 1.3 * 0.5),
                 (1.5 * 1.3 ** 2 * 0.5 + math.sin(0.5), 2 * 1.5 * 1.3 * 0.5),
                 (2.0 * 4.0 * 3.0, 2 * 2.0 * 2.0 * 3.0), (18.0, 12.0), (45.0, 30.0)]
    for line, want in zip(lines, expected, strict=True):
        assert line == pytest.approx(want, rel=1e-12)
    # the decorated transformation takes these calls too, with the same numbers
    sys.path.insert(0, str(model))
    try:
        import sig
        for (name, args, kwargs), want in zip(calls, expected):
            assert srcdiff.jvp(getattr(sig, name))(*args, **kwargs) == pytest.approx(want, rel=1e-12)
    finally:
        sys.path.remove(str(model))
        sys.modules.pop("sig", None)


ARRAYS = '''
import numpy as np

W0 = np.array([1.0, 2.0, 3.0])


def arr(x: np.ndarray, w: float = 0.5, *, k: float = 2.0, W=W0):
    return np.sum(np.sin(x) * w) + k * np.sum(x ** 2) + np.sum(W * x)


def named(x: np.ndarray, shape: float = 1.0, vector: float = 2.0):
    return np.sum(x ** 3) * shape + vector
'''


def test_array_hessian_module_keeps_defaults_and_its_own_names(tmp_path):
    """An array Hessian, one hvp per column, of a function with defaults; its locals do
    not take the names of the function's parameters (``shape``, ``vector``: the column
    loop overwrote them, and passed the shape where the parameter belonged)."""
    pytest.importorskip("numpy")
    (tmp_path / "arrs.py").write_text(textwrap.dedent(ARRAYS))
    result = run("generate", "arrs.py", "--mode", "hessian", "--wrt", "x",
                 "--types", "x=array[1],W=array[1]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "arrs_hessian.py").read_text()
    assert "def hessian_arr(x, w=0.5, *, k=2.0, W=arrs.W0):" in text
    assert "def hessian_named(x, shape=1.0, vector=2.0):" in text
    lines = run_without_srcdiff("""
        import numpy
        import arrs_hessian as m
        x, v = numpy.array([0.1, 0.2, 0.3]), numpy.array([1.0, -1.0, 0.5])
        print(repr(m.hessian_arr(x).tolist()))
        print(repr(m.hessian_arr(x, 2.0, k=1.0).tolist()))
        print(repr([m.hvp_arr(x, v).tolist(), m.hvp_arr(x, 0.5, v, k=2.0).tolist()]))
        print(repr([m.hessian_named(x).tolist(), m.hessian_named(x, 2.0).tolist()]))
    """, tmp_path)
    numpy = pytest.importorskip("numpy")
    x, v = numpy.array([0.1, 0.2, 0.3]), numpy.array([1.0, -1.0, 0.5])

    def hessian(w, k):  # sum(w sin x) + k sum(x²) + W·x
        return numpy.diag(-w * numpy.sin(x) + 2 * k)
    numpy.testing.assert_allclose(lines[0], hessian(0.5, 2.0), rtol=1e-12)
    numpy.testing.assert_allclose(lines[1], hessian(2.0, 1.0), rtol=1e-12)
    numpy.testing.assert_allclose(lines[2], [hessian(0.5, 2.0) @ v] * 2, rtol=1e-12)
    numpy.testing.assert_allclose(lines[3], [numpy.diag(6 * x), numpy.diag(12 * x)], rtol=1e-12)


def test_a_default_named_like_its_parameter_is_read_from_the_module(model):
    """``def shadowed(x, SCALE=SCALE)``: the default is the module's ``SCALE``, the body
    reads the parameter (the gradient module raised NameError: the default's name was
    taken for the parameter)."""
    result = run("generate", "sig.py", "--function", "shadowed", "-o", "shadowed_grad.py",
                 cwd=model)
    assert result.returncode == 0, result.stderr
    text = (model / "shadowed_grad.py").read_text()
    assert "def grad_shadowed(x, SCALE=sig.SCALE):" in text and "b_x = SCALE * x" in text
    lines = run_without_srcdiff("""
        import shadowed_grad
        print(repr([shadowed_grad.grad_shadowed(3.0), shadowed_grad.grad_shadowed(3.0, 5.0)]))
    """, model)
    assert lines == [[12.0, 30.0]]


def test_numba_modules_keep_keyword_only_parameters(model):
    """numba compiles no function with a keyword-only parameter with a default (a call
    leaving it out raised TypeError); the compiled code takes every argument by
    position and a plain function with ``f``'s parameters calls it."""
    pytest.importorskip("numba", reason="numba is not installed: pip install 'srcdiff[numba]'")
    for mode in ("grad", "jvp"):
        result = run("generate", "sig.py", "--function", "kw", "--function", "loop_sum",
                     "--mode", mode, "--numba", cwd=model)
        assert result.returncode == 0, result.stderr
    text = (model / "sig_grad.py").read_text()
    assert "def grad_kw(x, *, rate=0.3, power=2.0):\n" in text
    assert "@numba.njit(cache=True)\ndef _grad_kw(x, rate, power):" in text
    text = (model / "sig_jvp.py").read_text()
    assert "def jvp_kw(x, d_x, *, rate=0.3, power=2.0):\n" in text
    assert "@numba.njit(cache=True)\ndef _jvp_kw(x, rate, power, d_x):" in text
    lines = run_without_srcdiff("""
        import sig_grad, sig_jvp
        print(repr([sig_grad.grad_kw(1.5), sig_grad.grad_kw(1.5, rate=0.5, power=3.0)]))
        print(repr([sig_jvp.jvp_kw(1.5, 1.0), sig_jvp.jvp_loop_sum(0.7, 1.0),
                    sig_jvp.jvp_loop_sum(0.7, 3, 1.0)]))
    """, model)
    assert lines[0] == pytest.approx([kw_derivatives(1.5)[1], kw_derivatives(1.5, 0.5, 3.0)[1]],
                                     rel=1e-12)
    assert lines[1][0] == pytest.approx(kw_derivatives(1.5)[:2], rel=1e-12)
    assert lines[1][1] == pytest.approx(loop_sum_derivatives(0.7)[:2], rel=1e-12)
    assert lines[1][2] == pytest.approx(loop_sum_derivatives(0.7, 3)[:2], rel=1e-12)
