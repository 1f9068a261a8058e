"""The optimiser's index of names (dataflow.NameCache, shared by its passes and rounds)
is valid while no pass changes a node in place; tests/conftest.py turns on its check."""
import ast
import math

import pytest

import srcdiff
from srcdiff import optimize
from srcdiff.dataflow import NameCache, names
from srcdiff.errors import InternalError
from srcdiff.pipeline import generate


def loop(x, n=3):
    s = x
    for i in range(n):
        s = math.sin(s + x)
    return s * s


def test_the_check_is_on_under_test():
    assert NameCache.CHECK


def test_a_pass_changing_a_statement_in_place_is_caught(monkeypatch):
    def in_place(function):
        # ``add = s + x`` made ``add = x`` in place (a pass must build a new node)
        for node in ast.walk(ast.Module(function.body, [])):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.BinOp) \
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "add":
                node.value = ast.copy_location(ast.Name("x", ast.Load()), node.value)
                changed.append(node)
        return function
    changed = []
    passes = dict(optimize.PASSES)
    # dead_code's liveness reads every statement's names first
    monkeypatch.setattr(optimize, "PASSES", {"dead_code": passes["dead_code"],
                                             "in_place": in_place,
                                             "coalesce": passes["coalesce"]})
    with pytest.raises(InternalError, match="changed in place while the optimiser's index"):
        srcdiff.grad(loop)(0.3)
    assert len(changed) == 1


def test_without_the_check_the_same_pass_goes_unseen(monkeypatch):
    """What the check is for: the index answers from memory."""
    cache = NameCache(shared=True)
    statement = ast.parse("a = b").body[0]
    assert cache(statement) == (["b"], ["a"])
    statement.value = ast.Name("c", ast.Load())
    monkeypatch.setattr(NameCache, "CHECK", False)
    assert cache(statement) == (["b"], ["a"])  # stale
    assert names(statement) == (["c"], ["a"])
    monkeypatch.setattr(NameCache, "CHECK", True)
    with pytest.raises(InternalError):
        cache(statement)


def test_the_loop_of_the_issue():
    """for i in range(3): s = sin(s + x), optimised with the shared index and without
    the optimiser, against the derivative by the chain rule."""
    x = 0.7
    s, ds = x, 1.0
    for _ in range(3):
        ds = math.cos(s + x) * (ds + 1.0)
        s = math.sin(s + x)
    expected = 2 * s * ds
    assert srcdiff.grad(loop)(x) == pytest.approx(expected, rel=1e-14)
    plain = generate(loop, ("x",), name="plain", optimize=False).function(x)
    assert plain == pytest.approx(expected, rel=1e-14)
