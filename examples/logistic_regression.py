"""Logistic regression trained by gradient descent, with the gradient srcdiff writes.

The loss is the mean cross-entropy of a linear model, written with NumPy as in any
textbook; `srcdiff.grad` returns its gradient with respect to the weights and the bias,
as NumPy code (printed at the end). The data are synthetic: two Gaussian clouds.

Run: python examples/logistic_regression.py
"""

import numpy as np

import srcdiff


def loss(w, b, X, y):
    z = X @ w + b
    # log(1 + exp(-z)) and log(1 + exp(z)), written stably
    return np.mean(y * np.logaddexp(0.0, -z) + (1 - y) * np.logaddexp(0.0, z))


gradient = srcdiff.grad(loss, wrt=(0, 1))


def data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.5).astype(float)
    centres = np.where(y[:, None] == 1.0, [1.5, -1.0], [-1.0, 1.0])
    return centres + rng.normal(size=(n, 2)), y


def train(X, y, steps=300, rate=0.5):
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        dw, db = gradient(w, b, X, y)
        w, b = w - rate * dw, b - rate * db
    return w, b


def main():
    X, y = data()
    w, b = train(X, y)
    final = loss(w, b, X, y)
    accuracy = np.mean(((X @ w + b) > 0) == (y == 1))
    print(f"initial loss {loss(np.zeros(2), 0.0, X, y):.4f}, trained loss {final:.4f}, "
          f"accuracy {accuracy:.1%}, w = {np.round(w, 3)}, b = {b:.3f}")
    print()
    print(srcdiff.source(gradient))
    return final, accuracy, (w, b), (X, y)


if __name__ == "__main__":
    main()
