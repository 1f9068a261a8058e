"""srcdiff's derivatives as SciPy's optimisers take them: ``jac=srcdiff.grad(f)``,
``hess=srcdiff.hessian(f)``, ``hessp=srcdiff.hvp(f)``, and ``srcdiff.value_and_grad(f)``
with ``jac=True``. Each optimum is checked against an answer known without srcdiff:
Rosenbrock's minimum (1, ..., 1), and ridge regression's normal equations; the
derivatives themselves against SciPy's hand-written ``rosen_der`` and ``rosen_hess``."""

import numpy
import pytest

import srcdiff

optimize = pytest.importorskip("scipy.optimize", reason="SciPy is not installed: pip "
                               "install -e '.[test]' installs it")

START = numpy.array([-1.2, 1.0, -1.2, 1.0])


def rosenbrock(x):
    return numpy.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def ridge(w, X, y, penalty):
    residual = X @ w - y
    return 0.5 * numpy.sum(residual ** 2) + 0.5 * penalty * numpy.sum(w ** 2)


def test_the_derivatives_are_scipys_hand_written_ones():
    rng = numpy.random.default_rng(3)
    for point in [START, numpy.ones(4), *rng.normal(size=(3, 6))]:
        numpy.testing.assert_allclose(srcdiff.grad(rosenbrock)(point),
                                      optimize.rosen_der(point), rtol=1e-12, atol=1e-10)
        numpy.testing.assert_allclose(srcdiff.hessian(rosenbrock)(point),
                                      optimize.rosen_hess(point), rtol=1e-12, atol=1e-10)
        vector = rng.normal(size=point.shape)
        numpy.testing.assert_allclose(srcdiff.hvp(rosenbrock)(point, vector),
                                      optimize.rosen_hess_prod(point, vector),
                                      rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("method, derivatives", [
    ("BFGS", {"jac"}),
    ("L-BFGS-B", {"jac"}),
    ("Newton-CG", {"jac", "hess"}),
    ("trust-exact", {"jac", "hess"}),
    ("trust-krylov", {"jac", "hessp"}),
])
def test_minimize_finds_rosenbrocks_minimum(method, derivatives):
    made = {"jac": srcdiff.grad(rosenbrock), "hess": srcdiff.hessian(rosenbrock),
            "hessp": srcdiff.hvp(rosenbrock)}
    options = {"gtol": 1e-10} if method != "Newton-CG" else {"xtol": 1e-12}
    result = optimize.minimize(rosenbrock, START, method=method, options=options,
                               **{name: made[name] for name in derivatives})
    assert result.success, result.message
    numpy.testing.assert_allclose(result.x, numpy.ones(4), atol=1e-6)
    assert result.fun < 1e-10 and result.njev > 0


def test_value_and_grad_with_jac_true_solves_ridge_regression():
    rng = numpy.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X @ numpy.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=60)
    penalty = 2.0
    calls = []

    value_and_gradient = srcdiff.value_and_grad(ridge)

    def counted(w, *args):
        calls.append(w)
        return value_and_gradient(w, *args)

    result = optimize.minimize(counted, numpy.zeros(3), args=(X, y, penalty), jac=True,
                               method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0})
    assert result.success, result.message
    exact = numpy.linalg.solve(X.T @ X + penalty * numpy.eye(3), X.T @ y)
    numpy.testing.assert_allclose(result.x, exact, rtol=1e-8)
    assert len(calls) == result.nfev  # value and gradient come from one call
