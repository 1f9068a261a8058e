"""A piecewise loss with branches: the Huber loss of a linear fit, minimised by gradient
descent with srcdiff's gradient.

The Huber loss is quadratic near zero and linear beyond a threshold, written with `if`
per residual inside a loop over the data. srcdiff follows the branch each residual takes.

Run: python examples/piecewise_loss.py
"""

import srcdiff

XS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)
YS = (0.9, 3.1, 4.8, 7.2, 9.1, 30.0, 12.8, 15.1)  # y ≈ 2x + 1, with one outlier at x = 5
DELTA = 1.0


def huber_loss(slope, intercept):
    total = 0.0
    for x, y in zip(XS, YS):
        r = slope * x + intercept - y
        if abs(r) <= DELTA:
            total += 0.5 * r * r
        else:
            total += DELTA * (abs(r) - 0.5 * DELTA)
    return total / len(XS)


gradient = srcdiff.grad(huber_loss, wrt=("slope", "intercept"))


def fit(steps=3000, rate=0.05):
    slope, intercept = 0.0, 0.0
    for _ in range(steps):
        g_slope, g_intercept = gradient(slope, intercept)
        slope -= rate * g_slope
        intercept -= rate * g_intercept
    return slope, intercept


def main():
    slope, intercept = fit()
    print(f"Huber fit: y = {slope:.4f} x + {intercept:.4f}  (loss {huber_loss(slope, intercept):.5f});"
          " the outlier at x = 5 barely moves it")
    print()
    print(srcdiff.source(gradient))
    return slope, intercept


if __name__ == "__main__":
    main()
