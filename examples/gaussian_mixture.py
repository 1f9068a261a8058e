"""The log-likelihood of a Gaussian mixture, maximised with SciPy and srcdiff's gradient.

A mixture of K isotropic Gaussians in d dimensions: weights from unconstrained logits
(softmax), means, and log standard deviations. The objective is the negative mean
log-likelihood, written with `scipy.special.logsumexp` (or a NumPy fallback when SciPy
is absent); `scipy.optimize.minimize(fun, x0, jac=srcdiff.grad(fun))` fits it.

Run: python examples/gaussian_mixture.py
"""

import numpy as np

import srcdiff

try:
    from scipy.optimize import minimize
    from scipy.special import logsumexp
except ImportError:  # NumPy only: the same objective, optimised by gradient descent
    minimize = None

    def logsumexp(a, axis=None):
        top = np.max(a, axis=axis, keepdims=True)
        return np.log(np.sum(np.exp(a - top), axis=axis)) + np.squeeze(top, axis=axis)

K, D = 3, 2


def negative_log_likelihood(theta, X):
    logits = theta[:K]
    means = np.reshape(theta[K:K + K * D], (K, D))
    log_sigma = theta[K + K * D:]
    log_weights = logits - logsumexp(logits)
    difference = X[:, None, :] - means[None, :, :]          # n × K × d
    squared = np.sum(difference ** 2, axis=2)                # n × K
    log_density = (log_weights - D * log_sigma - 0.5 * D * np.log(2 * np.pi)
                   - 0.5 * squared * np.exp(-2.0 * log_sigma))
    return -np.mean(logsumexp(log_density, axis=1))


gradient = srcdiff.grad(negative_log_likelihood)


def data(n=600, seed=3):
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, 0.0], [2.0, 1.0], [0.0, 3.0]])
    labels = rng.integers(0, K, size=n)
    return centres[labels] + 0.5 * rng.normal(size=(n, D)), centres


def fit(X):
    start = np.concatenate([np.zeros(K), X[:K].ravel(), np.zeros(K)])
    if minimize is not None:
        result = minimize(negative_log_likelihood, start, args=(X,), jac=gradient,
                          method="L-BFGS-B")
        return result.x, result.fun, result.nit
    theta = start
    for step in range(3000):
        theta = theta - 0.05 * gradient(theta, X)
    return theta, negative_log_likelihood(theta, X), 3000


def main():
    X, centres = data()
    theta, value, iterations = fit(X)
    means = np.reshape(theta[K:K + K * D], (K, D))
    found = means[np.argsort(means[:, 0])]
    print(f"negative log-likelihood {value:.4f} after {iterations} iterations "
          f"({'L-BFGS-B' if minimize else 'gradient descent'}); means found:")
    print(np.round(found, 2))
    print(f"true means:\n{centres[np.argsort(centres[:, 0])]}")
    print()
    print(srcdiff.source(gradient))
    return value, found, centres[np.argsort(centres[:, 0])], theta, X


if __name__ == "__main__":
    main()
