"""Differentiating through Newton's method: a `while` loop that runs until convergence.

x = cbrt_newton(a) solves x³ = a by Newton steps. The exact derivative of the root is
1 / (3 x²) (implicit function theorem); srcdiff gets it by differentiating the iterations
themselves, with however many steps the loop took at that point.

Run: python examples/newton.py
"""

import srcdiff


def cbrt_newton(a):
    x = 1.0 if a < 8 else a / 4
    while abs(x * x * x - a) > 1e-14 * max(1.0, a):
        x = x - (x * x * x - a) / (3 * x * x)
    return x


dcbrt = srcdiff.grad(cbrt_newton)


def main():
    results = []
    for a in (0.5, 2.0, 27.0, 1000.0):
        root = cbrt_newton(a)
        derivative = dcbrt(a)
        exact = 1 / (3 * root * root)
        print(f"a = {a:7.1f}: root {root:.12f}, d root/da = {derivative:.12f} "
              f"(implicit: {exact:.12f})")
        results.append((a, derivative, exact))
    print()
    print(srcdiff.source(dcbrt))
    return results


if __name__ == "__main__":
    main()
