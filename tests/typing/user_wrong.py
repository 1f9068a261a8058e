"""Calls of gradients with arguments of the wrong types: mypy --strict must reject
exactly the lines marked `# error` (tests/test_typing.py)."""

import srcdiff


def loss(w: float, b: float) -> float:
    return w * b


@srcdiff.grad
def decorated(w: float, b: float) -> float:
    return w * b


srcdiff.grad(loss)("one", 2.0)  # error
decorated(1.0)  # error
srcdiff.value_and_grad(loss)(1.0, c=2.0)  # error
