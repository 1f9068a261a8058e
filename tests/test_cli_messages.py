"""What ``srcdiff generate`` says when it skips a function because of what it was told,
or not told, about a parameter's kind: the parameters concerned and the ``--types``
that fixes it, never a wrong cause or a wrong rank.

Regressions (a new-user trial): with a bare ``np.ndarray`` annotation, functions whose
result's rank depends on the arrays' were skipped blaming "a shape srcdiff cannot count
the axes of (np.zeros(s)...)", which they did not have, and ``linalg.solve`` said it
takes 2-d arrays, with no word of the annotation; an unannotated matrix was told
``--types A=array[1]``; a loop over an unannotated array was told "pass a NumPy array"."""

import textwrap

import pytest

from tests.test_cli import run, run_without_srcdiff

numpy = pytest.importorskip("numpy")

BARE = '''
import numpy as np


def quad_form(A: np.ndarray, x: np.ndarray):
    return x @ A @ x


def det_solve(A: np.ndarray, b: np.ndarray):
    return np.linalg.det(A) + np.sum(np.linalg.solve(A, b) ** 2)


def softmax_xent(z: np.ndarray, k: int):
    m = np.max(z)
    e = np.exp(z - m)
    return -np.log(e[k] / np.sum(e))


def vec_out(x: np.ndarray, a: float):
    return np.sin(x) * a + x ** 2


def energy(x: np.ndarray):
    return np.sum(0.5 * x ** 2) + np.sum(np.sin(x))
'''


def skipped(stderr, name):
    """The line saying why ``name`` was skipped."""
    return next(line for line in stderr.splitlines() if f"skipped {name}: " in line)



@pytest.fixture
def bare(tmp_path):
    (tmp_path / "bare.py").write_text(textwrap.dedent(BARE))
    return tmp_path


def test_a_bare_ndarray_annotation_names_the_unknown_ranks_and_the_types_that_fix_them(bare):
    result = run("generate", "bare.py", cwd=bare)
    assert result.returncode == 0, result.stderr
    assert "np.zeros(s)" not in result.stderr and "cannot count the axes" not in result.stderr
    line = skipped(result.stderr, "quad_form")
    assert "bare.py:6:5: srcdiff cannot tell that quad_form() returns one number: the number " \
           "of axes of A and x is not known (annotated np.ndarray, which does not say it)" in line
    assert "srcdiff differentiates quad_form() with --types A=array[2],x=array[1];" in line
    line = skipped(result.stderr, "det_solve")
    assert "numpy.linalg.solve is differentiated for 2-d arrays: the number of axes of A and " \
           "b is not known (annotated np.ndarray" in line
    assert "with --types A=array[2],b=array[1] (or A=array[2],b=array[2])" in line
    line = skipped(result.stderr, "softmax_xent")
    assert "the number of axes of z is not known" in line and "--types z=array[1];" in line
    # vec_out returns an array whatever the rank: what srcdiff says at rank 1
    line = skipped(result.stderr, "vec_out")
    assert "the number of axes of x is not known" in line
    assert "say it with --types x=array[N], N the number of axes" in line
    assert "with --types x=array[1], srcdiff says: vec_out() returns an array (array[1]); a " \
           "gradient needs a function that returns one number" in line
    # where nothing depends on the rank, the bare annotation means any rank
    assert "skipped energy" not in result.stderr
    text = (bare / "bare_grad.py").read_text()
    assert "def grad_energy(x):" in text
    lines = run_without_srcdiff("""
        import numpy
        import bare_grad
        x = numpy.arange(6.0).reshape(2, 3) / 5
        print(repr(bare_grad.grad_energy(x[0]).tolist()))
        print(repr(bare_grad.grad_energy(x).tolist()))
    """, bare)
    x = numpy.arange(6.0).reshape(2, 3) / 5
    numpy.testing.assert_allclose(lines[0], x[0] + numpy.cos(x[0]), rtol=1e-12)
    numpy.testing.assert_allclose(lines[1], x + numpy.cos(x), rtol=1e-12)


def test_the_suggested_types_differentiate_the_function(bare):
    result = run("generate", "bare.py", "--function", "quad_form", "--types",
                 "A=array[2],x=array[1]", "-o", "quad_grad.py", cwd=bare)
    assert result.returncode == 0, result.stderr
    A = [[2.0, 0.5, -1.0], [0.3, 1.0, 0.2], [0.0, -0.4, 3.0]]
    x = [0.7, -1.2, 0.4]
    lines = run_without_srcdiff(f"""
        import numpy
        import quad_grad
        gA, gx = quad_grad.grad_quad_form(numpy.array({A}), numpy.array({x}))
        print(repr([gA.tolist(), gx.tolist()]))
    """, bare)
    A, x = numpy.array(A), numpy.array(x)
    numpy.testing.assert_allclose(lines[0][0], numpy.outer(x, x), rtol=1e-12)  # ∂(xᵀAx)/∂A
    numpy.testing.assert_allclose(lines[0][1], (A + A.T) @ x, rtol=1e-12)


def test_an_array_type_without_rank_says_where_it_was_given(bare):
    result = run("generate", "bare.py", "--function", "det_solve", "--mode", "jvp",
                 "--types", "A=array,b=ndarray", cwd=bare)
    assert result.returncode == 2
    assert "the number of axes of A and b is not known (given as --types A=array,b=ndarray, " \
           "which does not say it)" in result.stderr
    assert "srcdiff differentiates det_solve() with --types A=array[2],b=array[1]" in result.stderr


UNDECLARED = '''
import numpy as np


def quad(A, x):
    return x @ A @ x


def enum_loop(x):
    s = 0.0
    for i, v in enumerate(x):
        s += (i + 1) * v ** 2
    return s


def for_rows(X, w: np.ndarray):
    acc = 0.0
    for row in X:
        acc += np.tanh(row @ w)
    return acc


def poly(x: float, coeffs):
    s = 0.0
    for c in coeffs:
        s = s * x + c
    return np.exp(s)
'''


def test_undeclared_parameters_are_named_with_no_rank_guessed(tmp_path):
    (tmp_path / "undeclared.py").write_text(textwrap.dedent(UNDECLARED))
    result = run("generate", "undeclared.py", "--types", "w=array[1]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = skipped(result.stderr, "quad")
    assert "parameters 'A' and 'x' have no declared kind, so they are taken for numbers, but " \
           "the function uses them with NumPy or indexes them (`matmul = x @ A`)" in line
    assert "--types A=array[N],x=array[N], N the number of axes of each array (array[1] a " \
           "vector, array[2] a matrix)" in line
    assert "A=array[1]" not in line and "=float" not in line  # `@` takes no number
    # a loop over a parameter taken for a number: the parameter and --types, not "pass an array"
    line = skipped(result.stderr, "enum_loop")
    assert "undeclared.py:11:9: parameter 'x' has no declared kind, so it is taken for a " \
           "number, but the function iterates over it (`for i, v in enumerate(x)`)" in line
    assert "say what it is: --types x=array[N]" in line and "pass a NumPy array" not in line
    # its rows multiplied with @: X, not "for_rows() returns an array"
    line = skipped(result.stderr, "for_rows")
    assert "parameter 'X' has no declared kind" in line and "(`matmul = row @ w`)" in line
    assert "returns an array" not in line
    # a list of numbers iterated over is data: poly is written, and runs with a list
    assert "skipped poly" not in result.stderr
    lines = run_without_srcdiff("""
        import undeclared_grad
        print(repr(undeclared_grad.grad_poly(0.5, [1.0, 2.0, 3.0])))
    """, tmp_path)
    # exp(x² + 2x + 3)' = (2x + 2) exp(x² + 2x + 3)
    assert lines[0] == pytest.approx(3.0 * numpy.exp(0.25 + 1.0 + 3.0), rel=1e-12)
