"""srcdiff.explain: the lecture's numbers, agreement with srcdiff.grad, the graph."""

import math
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

import srcdiff
from programs import PROGRAMS
from programs_calls import CALLS
from programs_control import CONTROL

EXAMPLES = Path(__file__).parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
import lecture_chain_rule  # noqa: E402
import lecture_graph  # noqa: E402


def test_the_lecture_h_example_prints_its_chain_rule():
    explanation = srcdiff.explain(lecture_chain_rule.h, 3)
    text = str(explanation)
    assert "∂h/∂x = 1 × 1/9 × 6 = 2/3" in text
    assert "∂g/∂f = 1 / f = 1/9" in text and "∂f/∂x = 2 * x = 6" in text
    assert "b_x += b_f × ∂f/∂x = 1/9 × 6 = 2/3" in text
    assert explanation.gradient["x"] == Fraction(2, 3)  # exact, not 0.666...


def test_the_lecture_graph_example():
    last = srcdiff.explain(lecture_graph.e_of, 6, 2, wrt=("c", "d"))
    assert [last.gradient["c"], last.gradient["d"]] == [2, 6]  # e.grad_fn(1.)
    assert last.chain_rule() == "∂e/∂c = 2\n∂e/∂d = 6"
    whole = srcdiff.explain(lecture_graph.e_graph, 2, 4, wrt=("a", "b"))
    assert whole.gradient == {"a": -4, "b": 8}
    assert "∂e/∂a = (2 × 1) + (6 × -1) = -4" in whole.chain_rule()
    assert "∂e/∂b = (2 × 1) + (6 × 1) = 8" in whole.chain_rule()


def test_the_lecture_examples_print_their_numbers():
    for module, expected in ((lecture_chain_rule, "∂h/∂x = 1 × 1/9 × 6 = 2/3"),
                             (lecture_graph, "∂e/∂a = (2 × 1) + (6 × -1) = -4")):
        result = subprocess.run([sys.executable, module.__file__], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout
    assert lecture_graph.main()["[de/dc, de/dd]"] == [2, 6]


def _explainable(entries):
    for entry in entries:
        func, point = entry[0], entry[1]
        if func.__name__ in ("recursion", "recursion_in_expressions", "mutual_recursion",
                             "recursion_in_a_loop", "integer_counters_and_prints"):
            continue
        yield pytest.param(func, point, id=func.__name__)


@pytest.mark.parametrize("func, point", list(_explainable(PROGRAMS + CONTROL + CALLS)))
def test_explanation_agrees_with_the_gradient(func, point):
    wrt = tuple(i for i, v in enumerate(point) if isinstance(v, float))
    explanation = srcdiff.explain(func, *point, wrt=wrt)
    names = func.__code__.co_varnames
    expected = srcdiff.grad(func, wrt=wrt)(*point)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for i, value in zip(wrt, expected):
        assert math.isclose(float(explanation.gradient[names[i]]), value,
                            rel_tol=1e-9, abs_tol=1e-12)


def test_recursion_is_refused_clearly():
    from programs_calls import recursion
    with pytest.raises(srcdiff.SrcdiffError, match="recursive calls"):
        srcdiff.explain(recursion, 1.3, 5)


def sine_map(x, n):
    v = x
    for i in range(n):
        v = math.sin(v) + x
    return v


def test_loops_are_unrolled_and_long_explanations_cut():
    explanation = srcdiff.explain(sine_map, 0.5, 3)
    text = str(explanation)
    assert "[v (3)]" in text  # the third value of v, numbered
    long = str(srcdiff.explain(sine_map, 0.5, 500, max_rows=20))
    assert "more rows not shown" in long
    assert len(long.splitlines()) < 120


def test_values_are_floats_when_the_inputs_are_not_simple_rationals():
    explanation = srcdiff.explain(lecture_chain_rule.h, math.pi)
    assert isinstance(explanation.gradient["x"], float)
    assert math.isclose(explanation.gradient["x"], 2 / math.pi)


def test_dot_output_has_every_node_and_labelled_edge():
    dot = srcdiff.explain(lecture_graph.e_graph, 2, 4, wrt=("a", "b")).to_dot()
    assert dot.startswith('digraph "e_graph" {')
    assert dot.count("->") == 6 and dot.count("[label=") == 11
    assert '"∂e/∂c = 2"' in dot and "adjoint -4" in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_dot_output_renders_with_graphviz():
    explanation = srcdiff.explain(lecture_graph.e_graph, 2, 4, wrt=("a", "b"))
    svg = explanation.to_svg()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "adjoint &#45;4" in svg and "adjoint 8" in svg  # dot escapes the minus sign
    assert explanation._repr_svg_() == svg


def test_without_graphviz_the_notebook_gets_text(monkeypatch):
    module = sys.modules["srcdiff.explanation"]
    monkeypatch.setattr(module.shutil, "which", lambda name: None)
    explanation = srcdiff.explain(lecture_chain_rule.h, 3)
    assert explanation._repr_svg_() is None
    assert "chain rule" in repr(explanation)
    with pytest.raises(srcdiff.SrcdiffError, match="needs Graphviz"):
        explanation.to_svg()


def test_the_explain_command(tmp_path):
    from test_cli import run
    result = run("explain", f"{EXAMPLES / 'lecture_chain_rule.py'}:h", "--at", "x=3",
                 "--dot", tmp_path / "h.dot")
    assert result.returncode == 0, result.stderr
    assert "∂h/∂x = 1 × 1/9 × 6 = 2/3" in result.stdout
    assert (tmp_path / "h.dot").read_text().startswith('digraph "h"')
    bad = run("explain", f"{EXAMPLES / 'lecture_chain_rule.py'}:h", "--at", "y=3")
    assert bad.returncode == 2 and "--at:" in bad.stderr


def test_the_readme_picture_is_the_graph_example():
    svg = (Path(__file__).parent.parent / "docs" / "lecture_graph.svg").read_text()
    assert "e&#160;=&#160;c * d" in svg or "e = c * d" in svg
    assert "adjoint &#45;4" in svg and "adjoint 8" in svg


def test_pytorch_agrees_when_installed():
    pytest.importorskip("torch", reason="PyTorch is optional: the comparison runs where it is installed")
    local, names, leaves = lecture_graph.pytorch_chain()
    assert local == [2.0, 6.0]  # e.grad_fn(1.)
    assert names == ["AddBackward0", "SubBackward0"]
    assert leaves == [-4.0, 8.0]
    whole = srcdiff.explain(lecture_graph.e_graph, 2, 4, wrt=("a", "b"))
    assert [float(whole.gradient["a"]), float(whole.gradient["b"])] == leaves
