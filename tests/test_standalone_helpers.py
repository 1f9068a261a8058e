"""The runtime helpers the command writes into standalone modules: each with everything it
reads (regression: ``unbroadcast_product`` was written without ``_EINSUM_SIZE``, and a
module's gradient raised ``NameError`` once an array had 4096 elements)."""

import builtins
import subprocess
import sys
import textwrap
import types

import pytest

numpy = pytest.importorskip("numpy")

import srcdiff  # noqa: E402
from srcdiff import runtime  # noqa: E402
from srcdiff.standalone import helper_definitions  # noqa: E402
from tests.test_cli import run  # noqa: E402

HELPERS = sorted(name for name, value in vars(runtime).items()
                 if not name.startswith("_") and getattr(value, "__module__", None) == runtime.__name__
                 and isinstance(value, (types.FunctionType, type)))


def _global_names(code: types.CodeType) -> set[str]:
    """The names a code object loads as globals (LOAD_GLOBAL), nested code included."""
    import dis
    names = {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names


def test_the_helpers_are_found():
    assert {"unbroadcast", "unbroadcast_product", "scatter_add", "GrownList"} <= set(HELPERS)


@pytest.mark.parametrize("helper", HELPERS)
def test_each_helper_is_written_with_every_global_it_reads(helper):
    namespace: dict[str, object] = {"numpy": numpy}
    definitions = helper_definitions(helper)
    assert definitions[0][0] == helper
    for _, source in definitions:
        exec(compile(source, f"<{helper}>", "exec"), namespace)
    functions = [v for v in namespace.values() if isinstance(v, types.FunctionType)]
    functions += [m for v in namespace.values() if isinstance(v, type)
                  for m in vars(v).values() if isinstance(m, types.FunctionType)]
    for function in functions:
        missing = {n for n in _global_names(function.__code__)
                   if n not in namespace and not hasattr(builtins, n)}
        assert not missing, f"{function.__qualname__} reads {missing}, not written with {helper}"
    for name, value in namespace.items():  # the same values as the package's
        if not name.startswith("__") and name != "numpy" and not callable(value):
            assert value == getattr(runtime, name)


PRODUCT = '''
import numpy as np


def stretched(w, X):
    return np.sum(np.tanh(X * w[None, :, :]))
'''


def test_a_module_summing_a_large_product_runs_without_srcdiff(tmp_path):
    """``unbroadcast_product`` on 9000 elements (over ``_EINSUM_SIZE``, which takes the
    ``einsum`` path), in a module the command wrote, run where srcdiff cannot be imported."""
    (tmp_path / "product_model.py").write_text(textwrap.dedent(PRODUCT))
    result = run("generate", "product_model.py", "--types", "w=array[2],X=array[3]",
                 "--wrt", "w", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "product_model_grad.py").read_text()
    assert "unbroadcast_product(" in text and "_EINSUM_SIZE = 4096" in text
    program = textwrap.dedent("""
        import sys
        sys.modules["srcdiff"] = None  # importing it fails from here on
        import numpy
        import product_model_grad
        rng = numpy.random.default_rng(3)
        w, X = rng.normal(size=(30, 30)), rng.normal(size=(10, 30, 30))
        print(repr(product_model_grad.grad_stretched(w, X).ravel().tolist()))
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    rng = numpy.random.default_rng(3)
    w, X = rng.normal(size=(30, 30)), rng.normal(size=(10, 30, 30))
    expected = numpy.sum(X * (1 - numpy.tanh(X * w) ** 2), axis=0)  # by hand
    numpy.testing.assert_allclose(eval(done.stdout), expected.ravel(), rtol=1e-12)
    sys.path.insert(0, str(tmp_path))
    try:
        import product_model
        numpy.testing.assert_allclose(srcdiff.grad(product_model.stretched)(w, X).ravel(),
                                      expected.ravel(), rtol=1e-12)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("product_model", None)
