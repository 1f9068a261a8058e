"""The lecture's graph example: a = 2, b = 4, c = a + b, d = b − a, e = c·d.

In PyTorch, ``e.grad_fn(1.)`` returns [∂e/∂c, ∂e/∂d] = [d, c] = [2, 6], and those values
flow on through ``e.grad_fn.next_functions`` to the leaves: ∂e/∂a = 2·1 + 6·(−1) = −4 and
∂e/∂b = 2·1 + 6·1 = 8. srcdiff builds the same graph from the source, at compile time, and
explains it; when PyTorch is installed this example prints PyTorch's chain beside it.

Run: python examples/lecture_graph.py [graph.dot]
"""

import importlib.util
import sys

import srcdiff


def e_of(c, d):
    """The last node of the graph: e = c · d."""
    e = c * d
    return e


def e_graph(a, b):
    """The whole graph, from the leaves a and b."""
    c = a + b
    d = b - a
    e = c * d
    return e


def pytorch_chain(a=2.0, b=4.0):
    """PyTorch's grad_fn / next_functions for the same graph, when PyTorch is there."""
    import torch
    a_t = torch.tensor(a, requires_grad=True)
    b_t = torch.tensor(b, requires_grad=True)
    c = a_t + b_t
    d = b_t - a_t
    e = c * d
    local = [float(t) for t in e.grad_fn(torch.tensor(1.0))]
    names = [type(f).__name__ for f, _ in e.grad_fn.next_functions]
    e.backward()
    return local, names, [float(a_t.grad), float(b_t.grad)]


def main(dot_path=None) -> dict:
    last = srcdiff.explain(e_of, 6, 2, wrt=("c", "d"))
    whole = srcdiff.explain(e_graph, 2, 4, wrt=("a", "b"))
    results = {
        "[de/dc, de/dd]": [last.gradient["c"], last.gradient["d"]],
        "[de/da, de/db]": [whole.gradient["a"], whole.gradient["b"]],
        "grad": list(srcdiff.grad(e_graph, wrt=("a", "b"))(2.0, 4.0)),
    }
    print("The last node, e = c * d, at c = 6, d = 2 (what e.grad_fn(1.) computes):")
    print(last.chain_rule())
    print()
    print(whole)
    print()
    print("srcdiff.grad(e_graph, wrt=('a', 'b'))(2.0, 4.0) =", results["grad"])
    print(srcdiff.source(srcdiff.grad(e_graph, wrt=("a", "b"))))
    if importlib.util.find_spec("torch") is not None:
        local, names, leaves = pytorch_chain()
        print(f"PyTorch: e.grad_fn(1.) = {local}, next_functions = {names}, "
              f"leaves' grad = {leaves}")
        results["pytorch"] = (local, leaves)
    else:
        print("(PyTorch is not installed: pip install torch==2.13.0 to compare with its grad_fn)")
    if dot_path:
        with open(dot_path, "w") as handle:
            handle.write(whole.to_dot())
        print(f"wrote {dot_path}")
    return results


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
