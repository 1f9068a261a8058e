"""The two worked examples of the backpropagation lecture, differentiated by srcdiff.

1. h(x) = log(x²) + 1 at x = 3: the chain rule gives ∂h/∂x = 1 × 1/9 × 6 = 2/3.
2. a = 2, b = 4, c = a + b, d = b − a, e = c·d: PyTorch's ``e.grad_fn(1.)`` returns
   [∂e/∂c, ∂e/∂d] = [d, c] = [2, 6]; flowing on, ∂e/∂a = d − c = −4 and
   ∂e/∂b = d + c = 8.

Run: python examples/lecture_chain_rule.py
"""

import math

import srcdiff


@srcdiff.grad
def h(x):
    f = x ** 2
    g = math.log(f)
    return g + 1


def e_of(c, d):
    """The last node of the graph: e = c · d."""
    return c * d


def e_graph(a, b):
    """The whole graph, from the leaves a and b."""
    c = a + b
    d = b - a
    e = c * d
    return e


def main() -> dict:
    results = {"dh/dx at 3": h(3.0)}
    print("h(x) = log(x**2) + 1;  dh/dx at x = 3:", results["dh/dx at 3"], "(2/3)")
    print(srcdiff.source(h))

    a, b = 2.0, 4.0
    c, d = a + b, b - a
    results["[de/dc, de/dd]"] = list(srcdiff.grad(e_of, wrt=(0, 1))(c, d))
    print("e = c * d;  [de/dc, de/dd] at c = 6, d = 2:", results["[de/dc, de/dd]"])
    results["[de/da, de/db]"] = list(srcdiff.grad(e_graph, wrt=("a", "b"))(a, b))
    print("e from the leaves;  [de/da, de/db] at a = 2, b = 4:", results["[de/da, de/db]"])
    print(srcdiff.source(srcdiff.grad(e_graph, wrt=("a", "b"))))
    return results


if __name__ == "__main__":
    main()
