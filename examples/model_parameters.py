"""A multilayer perceptron whose parameters live in nested dicts and lists, as in JAX
code: `srcdiff.grad` gives the gradient in the same structure.

The model is a two-hidden-layer network fitted to y = sin(2 x1) cos(x2) with the mean
squared error; its parameters are `{"hidden": [{"W": ..., "b": ...}, ...], "out": {...}}`.
The loss loops over the hidden layers (srcdiff writes the body once per layer) and hands
each layer's dict to a helper (inlined). Gradient descent updates every leaf by walking
the two structures together. The generated gradient takes each leaf as a parameter of
its own (printed at the end).

Run: python examples/model_parameters.py
"""

import numpy as np

import srcdiff


def dense(layer, x):
    return np.tanh(x @ layer["W"] + layer["b"])


def loss(params, X, y):
    hidden = X
    for layer in params["hidden"]:
        hidden = dense(layer, hidden)
    out = params["out"]
    prediction = hidden @ out["W"] + out["b"]
    return np.mean((prediction - y) ** 2)


gradient = srcdiff.value_and_grad(loss)


def data(n=200, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    return X, np.sin(2 * X[:, 0]) * np.cos(X[:, 1])


def initial(seed=4, width=12):
    rng = np.random.default_rng(seed)
    return {"hidden": [{"W": rng.normal(size=(2, width)) / np.sqrt(2), "b": np.zeros(width)},
                       {"W": rng.normal(size=(width, width)) / np.sqrt(width),
                        "b": np.zeros(width)}],
            "out": {"W": rng.normal(size=width) / np.sqrt(width), "b": 0.0}}


def step(params, grads, rate):
    """``params - rate * grads``, leaf by leaf, in the parameters' structure."""
    if isinstance(params, dict):
        return {key: step(params[key], grads[key], rate) for key in params}
    if isinstance(params, list):
        return [step(p, g, rate) for p, g in zip(params, grads)]
    return params - rate * grads


def train(X, y, steps=1500, rate=0.1):
    params = initial()
    history = []
    for _ in range(steps):
        value, grads = gradient(params, X, y)
        history.append(value)
        params = step(params, grads, rate)
    return params, history


def main():
    X, y = data()
    params, history = train(X, y)
    print(f"mean squared error: {history[0]:.4f} at the start, {loss(params, X, y):.5f} "
          f"after {len(history)} steps (variance of y: {np.var(y):.4f})")
    grads = gradient(params, X, y)[1]
    print("gradient structure:", {key: [sorted(layer) for layer in value] if key == "hidden"
                                  else sorted(value) for key, value in grads.items()})
    print()
    print(srcdiff.source(gradient, params, X, y))
    return history[0], float(loss(params, X, y)), float(np.var(y))


if __name__ == "__main__":
    main()
