"""srcdiff's derivatives handed to scipy.optimize.minimize.

SciPy's optimisers take the gradient as `jac` and the Hessian as `hess`: functions of
the same arguments as the objective. srcdiff's are exactly that:

    minimize(f, x0, jac=srcdiff.grad(f))                              # BFGS, L-BFGS-B, CG...
    minimize(f, x0, jac=srcdiff.grad(f), hess=srcdiff.hessian(f),
             method="trust-exact")                                    # Newton-type methods
    minimize(srcdiff.value_and_grad(f), x0, jac=True)                 # one call for both

Two problems whose answers are known without srcdiff: the Rosenbrock function, whose
minimum is at (1, 1, ..., 1) (SciPy has its gradient and Hessian written by hand, as
`rosen_der` and `rosen_hess`, to compare with), and ridge regression, whose minimum
solves the normal equations (XᵀX + λI) w = Xᵀy.

Run: python examples/scipy_fit.py
"""

import numpy as np
from scipy.optimize import minimize, rosen_der, rosen_hess

import srcdiff


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def ridge(w, X, y, penalty):
    residual = X @ w - y
    return 0.5 * np.sum(residual ** 2) + 0.5 * penalty * np.sum(w ** 2)


gradient = srcdiff.grad(rosenbrock)
hessian = srcdiff.hessian(rosenbrock)
ridge_value_and_gradient = srcdiff.value_and_grad(ridge)

# the classic start (-1.2, 1), twice: in 4 dimensions Rosenbrock's function also has a
# local minimum, near (-0.78, 0.61, 0.38, 0.15), which other starts may reach
START = np.array([-1.2, 1.0, -1.2, 1.0])


def fit_rosenbrock():
    """The minimum found by three methods: gradient only, and with the Hessian."""
    found = {}
    found["BFGS"] = minimize(rosenbrock, START, jac=gradient, method="BFGS", tol=1e-10)
    found["Newton-CG"] = minimize(rosenbrock, START, jac=gradient, hess=hessian,
                                  method="Newton-CG", tol=1e-10)
    found["trust-exact"] = minimize(rosenbrock, START, jac=gradient, hess=hessian,
                                    method="trust-exact", tol=1e-10)
    return found


def ridge_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=n)
    return X, y


def fit_ridge(penalty=2.0):
    """Ridge regression by L-BFGS-B with value and gradient from one call, and the
    normal equations' solution to compare with."""
    X, y = ridge_data()
    result = minimize(ridge_value_and_gradient, np.zeros(3), args=(X, y, penalty),
                      jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0})
    exact = np.linalg.solve(X.T @ X + penalty * np.eye(3), X.T @ y)
    return result, exact


def main():
    print(srcdiff.source(gradient, START))  # the code for a 1-d array
    found = fit_rosenbrock()
    for method, result in found.items():
        print(f"{method:12} minimum at {np.array2string(result.x, precision=8)}: "
              f"{result.nit} iterations, {result.nfev} function calls")
    point = np.array([0.3, -0.4, 1.1, 0.7])
    print("gradient, srcdiff - rosen_der:  ", np.max(np.abs(gradient(point) - rosen_der(point))))
    print("Hessian, srcdiff - rosen_hess:  ", np.max(np.abs(hessian(point) - rosen_hess(point))))
    result, exact = fit_ridge()
    print(f"ridge, L-BFGS-B with jac=True: {np.array2string(result.x, precision=8)}")
    print(f"ridge, normal equations:       {np.array2string(exact, precision=8)}")
    return found, result, exact


if __name__ == "__main__":
    main()
