"""A two-layer neural network trained on synthetic data, gradients by srcdiff.

The network is tanh(x W1 + b1) W2 + b2, fitted to y = sin(3 x1) + x2² with the mean
squared error, by plain gradient descent with momentum. `srcdiff.grad` differentiates
the loss with respect to all four parameter arrays at once; the generated backward pass
is the one from a lecture on backpropagation (printed at the end).

Run: python examples/two_layer_network.py
"""

import numpy as np

import srcdiff


def loss(W1, b1, W2, b2, X, y):
    hidden = np.tanh(X @ W1 + b1)
    prediction = hidden @ W2 + b2
    return np.mean((prediction - y) ** 2)


gradient = srcdiff.value_and_grad(loss, wrt=(0, 1, 2, 3))


def data(n=256, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    return X, np.sin(3 * X[:, 0]) + X[:, 1] ** 2


def train(X, y, hidden=16, steps=2000, rate=0.05, momentum=0.9, seed=2):
    rng = np.random.default_rng(seed)
    parameters = [rng.normal(size=(2, hidden)), np.zeros(hidden),
                  rng.normal(size=hidden) / np.sqrt(hidden), 0.0]
    velocity = [np.zeros_like(p) for p in parameters]
    history = []
    for step in range(steps):
        value, grads = gradient(*parameters, X, y)
        history.append(value)
        velocity = [momentum * v - rate * g for v, g in zip(velocity, grads)]
        parameters = [p + v for p, v in zip(parameters, velocity)]
    return parameters, history


def main():
    X, y = data()
    parameters, history = train(X, y)
    final = loss(*parameters, X, y)
    print(f"mean squared error: {history[0]:.4f} at the start, {final:.5f} after "
          f"{len(history)} steps (variance of y: {np.var(y):.4f})")
    print()
    print(srcdiff.source(gradient))
    return history[0], final, float(np.var(y))


if __name__ == "__main__":
    main()
