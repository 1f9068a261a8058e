"""Calls of functions without a derivative rule on constants (srcdiff/pure.py): accepted
when no argument depends on the differentiated arguments, refused where one does, and
refused as before for functions not known to be pure. Expected gradients are derived by
hand (the constants computed with NumPy) and checked against central differences."""

import ast
import inspect
import math
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import srcdiff
from arrays import numeric_gradient, program
from srcdiff.errors import MissingRuleError, UnsupportedSyntaxError
from srcdiff.kinds import ANY_ARRAY, SCALAR, array
from srcdiff.pipeline import OPTIMIZATIONS, generate

SETTINGS = [("optimised", {}), ("unoptimised", {"optimize": False})] + [
    (f"without {name}", {"disable": (name,)}) for name in OPTIMIZATIONS]
DATA = np.array([0.7, -1.2, 2.5, 0.1, 1.9])  # a module's array: data, never differentiated
Y = np.array([3.0, 1.0, 2.0, 0.2, 1.7, 1.0])  # a repeated element: unique has five
W = np.array([0.5, -1.0, 2.0, 0.25, 1.5, -0.75])


def numeric_hessian(func, args, h=1e-3):
    """Central differences of central differences (exact but for rounding on the
    programs here, at most quadratic in their first argument)."""
    rows = []
    for k in range(np.size(args[0])):
        def partial(*a, k=k):
            return numeric_gradient(func, a, (0,), h=h)[0].reshape(-1)[k]
        rows.append(numeric_gradient(partial, args, (0,), h=h)[0].reshape(-1))
    return np.array(rows)


def marked_line(func) -> int:
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if "# refused" in line)


# -- accepted --------------------------------------------------------------------------

def weighted_sorted(w, y):
    s = np.sort(y)
    c = math.lgamma(2.5)
    return np.sum(w * s) * c


def percentile_scalar(w, y):
    p = np.percentile(y, 50)  # a NumPy float: a number, in scalar code
    return w * p + math.sin(w) * p


def percentile_array(w, y):
    p = np.percentile(y, 30)  # a number, broadcast against an array
    return np.sum((w - p) ** 2)


def unique_broadcast(w, y):
    u = np.unique(y)  # five values, a 1-d array
    return np.sum(w[:, None] * u[None, :] ** 2)


def sorted_columns(w, Y2):
    S = np.sort(Y2, axis=0)  # a rank srcdiff does not infer: any rank
    return np.sum(w * S)


def in_loops_and_branches(w, y):
    acc = 0.0
    s = np.sort(y)
    for i in range(3):
        q = np.quantile(y, 0.25 * (i + 1))
        if q > 1.5:
            acc = acc + np.sum(w * s) * q
        else:
            acc = acc - np.sum(w ** 2) * q
    return acc


def centred(v, data):
    return v - np.nanmedian(data)


def through_a_helper(w, y):
    return np.sum(centred(w, y) ** 2)


def lgamma_in_a_loop(x, n):
    total = 0.0
    for k in range(n):
        total = total + x * math.lgamma(k + 1.5)
    return total + math.fmod(7.5, 2.0) * x ** 2


def of_module_data(w):
    s = np.sort(DATA)
    p = np.percentile(DATA, 30)
    return np.sum(w * s) + p * np.sum(w ** 2)


def histogram_counts(w, y):
    counts, edges = np.histogram(y, bins=6)
    return np.sum(w * counts) + np.sum(w ** 2) * edges[0]


def looked_up(x, y):
    v = np.searchsorted([1.0, 2.0, 3.0], 2.5) + np.nanmedian([4.0, 5.0, 7.0])  # 2 + 5
    return x * v * y


M = np.array([[2.0, 0.5], [0.25, 1.0]])


def conditioned(x, m):
    return x * np.linalg.cond(m) + np.ptp(DATA) * x ** 2


def over_sorted_rows(w, Y2):
    acc = 0.0
    for row in np.sort(Y2, axis=0):  # its rows are arrays (they were taken for numbers)
        acc = acc + np.sum(w * row)
    return acc


Y2 = np.array([[3.0, 1.0, 0.5], [2.0, 0.5, -1.0]])
W3 = np.array([0.5, -1.0, 2.0])


def expected_loops(w, y):
    s = np.sort(y)
    result = np.zeros_like(w)
    for i in range(3):
        q = np.quantile(y, 0.25 * (i + 1))
        result += s * q if q > 1.5 else -2 * w * q
    return result


ARRAY_CASES = [  # (function, arguments, the gradient with respect to the first, by hand)
    (weighted_sorted, (W, Y), np.sort(Y) * math.lgamma(2.5)),
    (percentile_array, (W, Y), 2 * (W - np.percentile(Y, 30))),
    (unique_broadcast, (W, Y), np.full(6, np.sum(np.unique(Y) ** 2))),
    (sorted_columns, (W3, Y2), np.sum(np.sort(Y2, axis=0), axis=0)),
    (in_loops_and_branches, (W, Y), expected_loops(W, Y)),
    (through_a_helper, (W, Y), 2 * (W - np.nanmedian(Y))),
    (of_module_data, (DATA * 0.5,), np.sort(DATA) + 2 * np.percentile(DATA, 30) * DATA * 0.5),
    (histogram_counts, (W, Y), np.histogram(Y, bins=6)[0] + 2 * W * np.min(Y)),
    (over_sorted_rows, (W3, Y2), np.sum(np.sort(Y2, axis=0), axis=0)),
]
SCALAR_CASES = [  # (function, arguments, derivative in the first, second derivative)
    (percentile_scalar, (0.8, Y), np.percentile(Y, 50) * (1 + math.cos(0.8)),
     -math.sin(0.8) * np.percentile(Y, 50)),
    (lgamma_in_a_loop, (0.6, 3), sum(math.lgamma(k + 1.5) for k in range(3)) + 2 * 1.5 * 0.6,
     2 * 1.5),
    (looked_up, (0.6, 2.0), 7.0 * 2.0, 0.0),
    (conditioned, (0.6, M), np.linalg.cond(M) + 2 * np.ptp(DATA) * 0.6, 2 * np.ptp(DATA)),
]
IDS = [c[0].__name__ for c in ARRAY_CASES]


@pytest.mark.parametrize("func, args, expected", ARRAY_CASES, ids=IDS)
def test_gradients_of_array_programs(func, args, expected):
    np.testing.assert_allclose(numeric_gradient(func, args, (0,))[0], expected, rtol=1e-6,
                               atol=1e-7)  # the hand derivation agrees with differences
    np.testing.assert_allclose(srcdiff.grad(func)(*args), expected, rtol=1e-12, atol=1e-12)
    value, gradient = srcdiff.value_and_grad(func)(*args)
    assert value == pytest.approx(func(*args), rel=1e-15)
    np.testing.assert_allclose(gradient, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(srcdiff.grad(func, checkpoints=2)(*args), expected,
                               rtol=1e-12, atol=1e-12)
    tangent = np.linspace(-1.0, 1.0, np.size(args[0])).reshape(np.shape(args[0]))
    value, slope = srcdiff.jvp(func)(*args, tangent)
    assert slope == pytest.approx(np.sum(expected * tangent), rel=1e-12, abs=1e-12)
    value, pullback = srcdiff.vjp(func)(*args)
    np.testing.assert_allclose(pullback(2.0), 2.0 * expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(srcdiff.jacobian(func)(*args), expected, rtol=1e-12, atol=1e-12)
    second = numeric_hessian(func, args)
    np.testing.assert_allclose(srcdiff.hessian(func)(*args), second, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(srcdiff.hvp(func)(*args, tangent), second @ tangent,
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("func, args, expected, second", SCALAR_CASES,
                         ids=[c[0].__name__ for c in SCALAR_CASES])
def test_gradients_of_scalar_programs(func, args, expected, second):
    assert numeric_gradient(func, args, (0,))[0] == pytest.approx(expected, rel=1e-6)
    assert srcdiff.grad(func)(*args) == pytest.approx(expected, rel=1e-14)
    assert srcdiff.value_and_grad(func)(*args)[1] == pytest.approx(expected, rel=1e-14)
    assert srcdiff.grad(func, checkpoints=2)(*args) == pytest.approx(expected, rel=1e-14)
    assert srcdiff.jvp(func)(*args, 2.0)[1] == pytest.approx(2 * expected, rel=1e-14)
    assert srcdiff.vjp(func)(*args)[1](2.0) == pytest.approx(2 * expected, rel=1e-14)
    assert srcdiff.jacobian(func)(*args) == pytest.approx(expected, rel=1e-14)
    assert srcdiff.grad(srcdiff.grad(func))(*args) == pytest.approx(second, abs=1e-12)
    assert srcdiff.hessian(func)(*args) == pytest.approx(second, abs=1e-12)
    assert srcdiff.hvp(func)(*args, 2.0) == pytest.approx(2 * second, abs=1e-12)


@pytest.mark.parametrize("func, args, expected", ARRAY_CASES + [c[:3] for c in SCALAR_CASES],
                         ids=IDS + [c[0].__name__ for c in SCALAR_CASES])
def test_every_optimisation_setting_agrees(func, args, expected):
    kinds = {name: array(np.ndim(a)) if np.ndim(a) else SCALAR
             for name, a in zip(inspect.signature(func).parameters, args)}
    first = next(iter(kinds))
    for label, setting in SETTINGS:
        got = generate(func, (first,), name="g", kinds=kinds, **setting).function(*args)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=label)
        tangent = np.ones(np.shape(args[0])) if np.ndim(args[0]) else 1.0
        slope = generate(func, (first,), name="t", kinds=kinds, mode="forward",
                         **setting).function(*args, tangent)
        assert slope == pytest.approx(np.sum(expected), rel=1e-12, abs=1e-12), label


def test_the_percentile_is_a_number_in_scalar_code():
    # a NumPy float64 taken for a number: the gradient of a float is a float
    gradient = srcdiff.grad(percentile_scalar)(0.8, Y)
    assert type(gradient) is float
    source = srcdiff.source(srcdiff.grad(percentile_scalar))
    assert "math.cos(w)" in source and "numpy." not in source  # no array code around it


@pytest.mark.parametrize("call, kinds, expected", [
    ("np.percentile(y, 50)", {"y": array(2)}, SCALAR),  # over every element
    ("np.percentile(y, 50, axis=None, keepdims=False)", {"y": array(2)}, SCALAR),
    ("np.percentile(y, 50, axis=0)", {"y": array(2)}, ANY_ARRAY),
    ("np.percentile(y, [25, 75])", {"y": array(1)}, ANY_ARRAY),
    ("np.sort(y)", {"y": array(2)}, array(2)),
    ("np.sort(y, axis=None)", {"y": array(2)}, ANY_ARRAY),  # flattened: not y's rank
    ("np.unique(y)", {"y": array(2)}, array(1)),
    ("np.unique(y, return_counts=True)", {"y": array(1)}, array(2)),  # a pair of vectors
    ("np.unique(y, return_inverse=True)", {"y": array(1)}, ANY_ARRAY),
    ("np.histogram(y, bins=3)", {"y": array(2)}, array(2)),
    ("np.interp(2.5, xp, fp)", {"xp": array(1), "fp": array(1)}, SCALAR),
    ("np.interp(x, xp, fp)", {"x": array(0), "xp": array(1), "fp": array(1)}, ANY_ARRAY),
    ("np.trapezoid(y)", {"y": array(2)}, array(1)),
    ("np.gcd(a, 4)", {"a": array(1)}, array(1)),
    ("np.vecdot(a, a)", {"a": array(1)}, ANY_ARRAY),  # a generalised ufunc takes axes away
    ("np.linalg.svd(a)", {"a": array(2)}, ANY_ARRAY),
    ("math.lgamma(a)", {"a": SCALAR}, SCALAR),
])
def test_the_kind_of_each_result(call, kinds, expected):
    """A number only where the result always is one; a rank only where NumPy fixes it."""
    from srcdiff.pure import result_kind
    node = ast.parse(call).body[0].value
    callee = eval(ast.unparse(node.func), {"np": np, "math": math})

    def of(argument):
        if isinstance(argument, ast.Name):
            return kinds[argument.id]
        if isinstance(argument, ast.List):
            return array(1)
        return SCALAR if isinstance(argument.value, (int, float)) else None
    assert result_kind(callee, node, of) == expected


def test_scipy_special_ufuncs():
    pytest.importorskip("scipy.special")
    func = program("def probe(x, y):\n"
                   "    g = scipy.special.gammaln(y + 2.5)\n"
                   "    return np.sum(x * g) + scipy.special.erfinv(0.5) * np.sum(x ** 2)\n")
    import scipy.special
    x, y = np.array([0.3, -0.7]), np.array([0.5, 1.5])
    expected = scipy.special.gammaln(y + 2.5) + 2 * scipy.special.erfinv(0.5) * x
    np.testing.assert_allclose(numeric_gradient(func, (x, y), (0,))[0], expected, rtol=1e-6)
    np.testing.assert_allclose(srcdiff.grad(func)(x, y), expected, rtol=1e-14)
    assert srcdiff.jvp(func)(x, y, np.ones(2))[1] == pytest.approx(np.sum(expected), rel=1e-14)


def test_an_unused_call_that_raises_still_raises():
    # np.sort of a number raises: dead code elimination must not drop the call
    def unused(x, y):
        s = np.sort(y)
        return x * 2.0
    with pytest.raises(np.exceptions.AxisError):
        unused(1.0, 3.0)
    for label, setting in SETTINGS:
        with pytest.raises(np.exceptions.AxisError):
            generate(unused, ("x",), name="g", **setting).function(1.0, 3.0)
    assert srcdiff.grad(unused)(1.0, np.array([2.0, 1.0])) == 2.0


def test_histograms_edges_may_be_its_bins():
    """numpy.histogram returns the bins array it is given as its edges: the alias
    analysis knows, so changing one in place while the other is read is refused."""
    def edges_changed(w, y, bins):
        counts, edges = np.histogram(y, bins=bins)
        edges[0] = -5.0  # refused
        return np.sum(w * counts) * bins[0]
    with pytest.raises(UnsupportedSyntaxError, match="`edges` is changed in place while "
                       "`bins`, which may refer to the same array, is still read") as caught:
        srcdiff.grad(edges_changed)(np.ones(2), Y, np.array([0.0, 1.5, 3.0]))
    assert caught.value.lineno == marked_line(edges_changed)


# -- the command's standalone modules ------------------------------------------------------

MODULE = '''
import math

import numpy as np

DATA = np.array([0.7, -1.2, 2.5, 0.1, 1.9])


def loss(w, y):
    s = np.sort(y)
    c = math.lgamma(2.5)
    total = 0.0
    for i in range(2):
        total = total + np.sum(w * s) * c + np.percentile(DATA, 30) * np.sum(w ** 2)
    return total
'''


@pytest.mark.parametrize("mode", ["grad", "jvp", "hessian"])
def test_the_command_writes_modules_that_run_without_srcdiff(tmp_path, mode):
    model = f"constants_{mode}"  # one module name per test: the command imports it
    (tmp_path / f"{model}.py").write_text(textwrap.dedent(MODULE))
    from srcdiff.cli import main
    assert main(["generate", str(tmp_path / f"{model}.py"), "--types",
                 "w=array[1],y=array[1]", "--wrt", "w", "--mode", mode]) == 0
    call = {"grad": "grad_loss(w, y).tolist()", "jvp": "float(jvp_loss(w, y, np.ones(3))[1])",
            "hessian": "hessian_loss(w, y).tolist()"}[mode]
    run = textwrap.dedent(f"""
        import sys
        sys.modules["srcdiff"] = None  # importing it fails from here on
        import numpy as np
        from {model}_{mode} import *
        w, y = np.array([0.5, -1.0, 2.0]), np.array([3.0, 1.0, 2.0])
        print(repr({call}))
    """)
    result = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    w, y = np.array([0.5, -1.0, 2.0]), np.array([3.0, 1.0, 2.0])
    p = np.percentile(DATA, 30)
    gradient = 2 * (np.sort(y) * math.lgamma(2.5) + 2 * p * w)
    expected = {"grad": gradient.tolist(), "jvp": float(np.sum(gradient)),
                "hessian": (4 * p * np.eye(3)).tolist()}[mode]
    np.testing.assert_allclose(eval(result.stdout), expected, rtol=1e-12)


# -- refused: an argument depends on the differentiated arguments ----------------------

def partitioned_directly(w, y):
    # (np.sort, the example here before, has a rule since: tests/test_more_rules.py)
    return np.sum(np.partition(w * y, 1))  # refused


def partitioned_list(a, b):
    s = np.partition([a, b], 0)  # refused
    return s[0] * b


def partitioned_carried(w, y):
    acc = 0.0
    t = y
    for i in range(3):
        acc = acc + np.sum(np.partition(t, 1) * y)  # refused
        t = t + w
    return acc


def partitions(v):
    return np.partition(v, 1)  # refused


def partitioned_in_a_helper(w, y):
    return np.sum(partitions(w) * y)


def lgamma_of_x(x):
    return math.lgamma(x) * x  # refused


def percentile_keyword(w, y):
    return np.sum(w) * np.percentile(y, q=np.sum(w) * 10.0)  # refused


REFUSED = [
    (partitioned_directly, (W, Y), "numpy.partition: its argument 1 (`w * y`) depends on w"),
    (partitioned_list, (0.5, 1.5), "numpy.partition: its argument 1 (`[a, b]`) depends on a"),
    (partitioned_carried, (W, Y), "numpy.partition: its argument 1 (`t`) depends on w"),
    (partitioned_in_a_helper, (W, Y), "numpy.partition: its argument 1 (`v`) depends on w"),
    (lgamma_of_x, (1.5,), "math.lgamma: its argument 1 (`x`) depends on x"),
    (percentile_keyword, (W, Y), "numpy.percentile: its argument q (`np.sum(w) * 10.0`) "
     "depends on w"),
]


@pytest.mark.parametrize("func, args, message", REFUSED, ids=[c[0].__name__ for c in REFUSED])
def test_refused_where_an_argument_depends_on_the_differentiated_ones(func, args, message):
    marked = partitions if func is partitioned_in_a_helper else func
    for transform in ("grad", "value_and_grad", "jvp", "vjp", "hessian", "checkpoints"):
        with pytest.raises(MissingRuleError) as caught:
            if transform == "jvp":
                srcdiff.jvp(func)(*args, args[0])
            elif transform == "vjp":
                srcdiff.vjp(func)(*args)
            elif transform == "checkpoints":
                srcdiff.grad(func, checkpoints=2)(*args)
            else:
                getattr(srcdiff, transform)(func)(*args)
        failure = caught.value
        assert f"no derivative rule for {message}, and srcdiff calls a function without a " \
            "rule only on constants" in failure.message, transform
        assert failure.filename == inspect.getsourcefile(marked)
        assert failure.lineno == marked_line(marked)
        written = message.split(":")[0].replace("numpy.", "np.")
        assert failure.source_line[failure.col:].startswith(written + "("), failure.source_line
        assert failure.hint.startswith(f"register one: srcdiff.register_rule("
                                       f"{message.split(':')[0]}, lambda x0")


def test_the_forward_code_of_a_refused_call_is_refused_too():
    with pytest.raises(MissingRuleError, match="math.lgamma: its argument 1"):
        srcdiff.grad(srcdiff.grad(lgamma_of_x))(1.5)
    with pytest.raises(MissingRuleError, match="numpy.partition: its argument 1"):
        srcdiff.hvp(partitioned_directly)(W, Y, W)


def test_stop_gradient_makes_the_argument_a_constant():
    def stopped(w, y):
        return np.sum(w * np.sort(srcdiff.stop_gradient(w) * y))
    expected = np.sort(W * Y)
    np.testing.assert_allclose(srcdiff.grad(stopped)(W, Y), expected, rtol=1e-14)


# -- refused as before: functions not known to be pure, arguments that write --------------

def draws_python(x):
    return x * random.random()  # refused


def draws_numpy(x):
    return np.sum(x * np.random.normal(0.0, 1.0, 3))  # refused


def copies_into(x, y):
    buffer = np.zeros(3)
    np.copyto(buffer, y)  # refused
    return np.sum(x * buffer)


def fills_diagonal(x, y):
    m = np.outer(y, y)
    done = np.fill_diagonal(m, 0.0)  # refused
    return np.sum(x * m)


def percentile_into(x, y):
    out = np.zeros(1)
    return x * np.percentile(y, 50, out=out)  # refused


def percentile_overwriting(x, y):
    return x * np.percentile(y, 50, overwrite_input=True)  # refused


def ufunc_where(x, y):
    return np.sum(x * np.gcd(y, 4, where=y > 0))  # refused


def ufunc_out(x, y):
    return np.sum(x * np.ldexp(y, 2, y))  # refused


def frexp_tuple(x):
    return x * math.frexp(2.5)[0]  # refused


IMPURE = [
    (draws_python, MissingRuleError, "no derivative rule for Random.random"),
    (draws_numpy, MissingRuleError, "no derivative rule for numpy.random"),
    (copies_into, UnsupportedSyntaxError, "expression statements are not supported"),
    (fills_diagonal, MissingRuleError, "no derivative rule for numpy.fill_diagonal"),
    (percentile_into, UnsupportedSyntaxError, "numpy.percentile with `out=` writes the "
     "result into an array in place: not supported"),
    (percentile_overwriting, UnsupportedSyntaxError, "numpy.percentile with "
     "`overwrite_input=` may change its argument in place"),
    (ufunc_where, UnsupportedSyntaxError, "numpy.gcd's `where=` is not supported"),
    (ufunc_out, UnsupportedSyntaxError, "numpy.ldexp takes 2 operands; the next positional "
     "argument is its `out` array"),
    (frexp_tuple, MissingRuleError, "no derivative rule for math.frexp"),
]


@pytest.mark.parametrize("func, error, message", IMPURE, ids=[c[0].__name__ for c in IMPURE])
def test_impure_and_writing_calls_stay_refused(func, error, message):
    with pytest.raises(error) as caught:
        srcdiff.grad(func)
    assert message in caught.value.message
    assert caught.value.lineno == marked_line(func)


def test_copyto_as_a_value_is_refused_as_before():
    def copies(x, y):
        buffer = np.zeros(3)
        done = np.copyto(buffer, y)  # refused
        return np.sum(x * buffer)
    with pytest.raises(MissingRuleError, match="no derivative rule for numpy.copyto") as caught:
        srcdiff.grad(copies)
    assert caught.value.lineno == marked_line(copies)
