"""The backpropagation lecture's first worked example, differentiated and explained.

h(x) = log(x²) + 1 at x = 3: the chain rule gives ∂h/∂x = 1 × 1/9 × 6 = 2/3.
(The graph example, a = 2, b = 4, c = a + b, d = b − a, e = c·d, is in lecture_graph.py.)

Run: python examples/lecture_chain_rule.py
"""

import math

import srcdiff


def h(x):
    f = x ** 2
    g = math.log(f)
    return g + 1


dh = srcdiff.grad(h)


def main() -> dict:
    results = {"dh/dx at 3": dh(3.0)}
    print("h(x) = log(x**2) + 1;  dh/dx at x = 3:", results["dh/dx at 3"], "(2/3)")
    print()
    print("The generated gradient:")
    print(srcdiff.source(dh))
    explanation = srcdiff.explain(h, 3)
    print(explanation)
    results["chain rule"] = explanation.chain_rule()
    results["exact gradient"] = explanation.gradient["x"]
    return results


if __name__ == "__main__":
    main()
