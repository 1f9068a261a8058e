"""Every Python snippet of the README is checked: run (in a file, so srcdiff can read its
functions' source), or compared with what srcdiff generates, or with the source it
quotes. A new snippet fails `test_every_snippet_is_checked` until it gets a check."""

import math
import runpy
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import srcdiff

ROOT = Path(__file__).parent.parent


def fenced(text: str) -> list[tuple[str, str]]:
    """The README's fenced blocks: (language, text)."""
    blocks, language, lines = [], None, []
    for line in text.splitlines(True):
        if line.startswith("```"):
            if language is None:
                language, lines = line[3:].strip(), []
            else:
                blocks.append((language, "".join(lines)))
                language = None
        elif language is not None:
            lines.append(line)
    return blocks


README = fenced((ROOT / "README.md").read_text())
BLOCKS = [text for language, text in README if language == "python"]
PLAIN = [text for language, text in README if language == ""]  # outputs


def block(first_line: str) -> str:
    """The snippet whose first line starts with ``first_line``."""
    found = [b for b in BLOCKS if b.lstrip().startswith(first_line)]
    assert len(found) == 1, f"{len(found)} snippets start with {first_line!r}"
    return found[0]


# each snippet by its first line, and how it is checked
CHECKS = {
    "import math\nimport srcdiff\n\n@srcdiff.grad": "run",
    "import math\nimport srcdiff\n\ndef pendulum": "run (with numba)",
    "def dh_dx(x):": "generated",
    "srcdiff.grad(f)": "API summary (names only)",
    "def predict(params, x):": "run",
    "value, slope = srcdiff.jvp": "API summary (names only)",
    "import math\nimport srcdiff\n\ndef polar": "run",
    "def jvp_h(x, d_x):": "generated",
    "def ddh_dx_dx(x, d_x):": "generated",
    "import numpy as np\nimport srcdiff": "run",
    "import math\nimport srcdiff\n\ndef final_energy": "run",
    "b_add_1 = ": "generated",
    "_(math.atan2,": "quoted from srcdiff/rules.py",
    "from srcdiff.expr import exp, log": "run",
}


def test_every_snippet_is_checked():
    assert len(BLOCKS) == len(CHECKS)
    assert len(PLAIN) == 3  # explain's output, an error, the benchmark table
    for first in CHECKS:
        block(first)


def run_snippet(tmp_path, text: str, prelude: str = "", name: str = "snippet") -> dict:
    path = tmp_path / f"{name}.py"
    path.write_text(prelude + "\n" + textwrap.dedent(text))
    sys.path.insert(0, str(tmp_path))
    try:
        return runpy.run_path(str(path), run_name=name)
    finally:
        sys.path.remove(str(tmp_path))


def lecture():
    return runpy.run_path(str(ROOT / "examples" / "lecture_chain_rule.py"), run_name="lecture")


def test_the_first_example_runs_and_prints_its_gradient(tmp_path, capsys):
    namespace = run_snippet(tmp_path, block("import math\nimport srcdiff\n\n@srcdiff.grad"))
    assert namespace["h"](3.0) == pytest.approx(2 / 3)
    printed = capsys.readouterr().out
    assert "def dh_dx(x):" in printed and "b_x = b_f * (2 * x)" in printed


def test_the_compiled_gradient_snippet_runs(tmp_path, capsys):
    pytest.importorskip("numba", reason="numba is not installed: pip install "
                        "'srcdiff[numba]'")
    namespace = run_snippet(tmp_path, block("import math\nimport srcdiff\n\ndef pendulum"),
                            name="pendulum")
    printed = capsys.readouterr().out.strip()
    plain = srcdiff.grad(namespace["pendulum"], wrt=(0, 1))(1.0, 0.3)
    compiled = eval(printed)
    assert len(compiled) == 2 and compiled == pytest.approx(plain, rel=1e-12)
    assert namespace["dpendulum"].numba_function.signatures


def test_the_checkpoints_snippet_gives_the_gradient_without(tmp_path, capsys):
    namespace = run_snippet(tmp_path, block("import math\nimport srcdiff\n\ndef final_energy"),
                            name="energy")
    func = namespace["final_energy"]
    plain = srcdiff.grad(func, wrt=(0, 1))(1.3, 0.4, 100_000)
    assert capsys.readouterr().out.strip() == repr(plain)


def generated_lines(text: str) -> list[str]:
    """The lines of a generated-source snippet, without its docstring line and `...`."""
    return [line for line in text.rstrip().splitlines()
            if line.strip() != "..." and not line.lstrip().startswith('"""')]


def test_the_generated_sources_quoted_are_what_srcdiff_generates():
    h = lecture()["h"]
    assert srcdiff.source(srcdiff.grad(h)).rstrip() == block("def dh_dx(x):").rstrip()
    assert srcdiff.source(srcdiff.jvp(h), 3.0, 1.0).rstrip() == block(
        "def jvp_h(x, d_x):").rstrip()
    second = srcdiff.source(srcdiff.grad(srcdiff.grad(h)), 3.0)
    assert generated_lines(second) == generated_lines(block("def ddh_dx_dx(x, d_x):"))


def test_the_structured_parameters_snippet_runs(tmp_path):
    prelude = ("import numpy as np\nimport srcdiff\n"
               "rng = np.random.default_rng(0)\n"
               "params = {'W': rng.normal(size=(2, 3)), 'b': rng.normal(size=2)}\n"
               "x, y = rng.normal(size=3), rng.normal(size=2)\n")
    namespace = run_snippet(tmp_path, block("def predict(params, x):"), prelude, "pytrees")
    assert set(namespace["grads"]) == {"W", "b"}
    assert namespace["grads"]["W"].shape == (2, 3)
    layers = [(np.eye(2), np.zeros(2)), (np.ones((2, 2)), np.ones(2))]
    gradient = srcdiff.grad(namespace["mlp"])(layers, np.array([0.5, -0.5]))
    assert [tuple(g.shape for g in layer) for layer in gradient] == [((2, 2), (2,))] * 2


def test_the_tuple_outputs_snippet_runs(tmp_path):
    namespace = run_snippet(tmp_path, block("import math\nimport srcdiff\n\ndef polar"),
                            name="polar_outputs")
    r, t = 2.0, 0.5
    assert (namespace["x"], namespace["y"]) == (r * math.cos(t), r * math.sin(t))
    assert namespace["dr"] == pytest.approx(math.cos(t), rel=1e-15)
    assert namespace["dt"] == pytest.approx(-r * math.sin(t), rel=1e-15)
    assert (namespace["dx"], namespace["dy"]) == pytest.approx((math.cos(t), math.sin(t)))
    assert (namespace["dx_dr"], namespace["dx_dt"], namespace["dy_dr"], namespace["dy_dt"]) \
        == pytest.approx((math.cos(t), -r * math.sin(t), math.sin(t), r * math.cos(t)))


def test_the_numpy_snippet_runs_and_its_excerpt_is_generated(tmp_path):
    prelude = ("import numpy as np\n"
               "X = np.random.default_rng(1).normal(size=(5, 3))\n"
               "y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])\n")
    namespace = run_snippet(tmp_path, block("import numpy as np\nimport srcdiff"), prelude,
                            "logistic")
    X, y = namespace["X"], namespace["y"]
    assert namespace["dloss"](np.zeros(3), X, y).shape == (3,)
    text = srcdiff.source(namespace["dloss"], np.zeros(3), X, y)
    for line in generated_lines(block("b_add_1 = ")):
        assert line.strip() in [g.strip() for g in text.splitlines()], line


def test_the_rule_lines_quoted_are_in_the_table():
    table = (ROOT / "srcdiff" / "rules.py").read_text()
    for line in block("_(math.atan2,").strip().splitlines():
        assert line in table, line


def test_the_count_of_array_rules():
    # in a fresh interpreter: other tests register rules of their own in this one
    import subprocess
    count = subprocess.run(
        [sys.executable, "-c", "import srcdiff.array_rules\nfrom srcdiff.rules import RULES\n"
         "print(len(RULES.array_rules()))"], capture_output=True, text=True, check=True).stdout
    text = " ".join((ROOT / "README.md").read_text().split())
    assert f"of whole-array functions: {int(count)} entries" in text


def test_registering_a_rule_as_shown(tmp_path):
    namespace = run_snippet(tmp_path, block("from srcdiff.expr import exp, log"),
                            "import math\nimport srcdiff\n", "softplus_rule")
    softplus = namespace["softplus"]
    try:
        assert srcdiff.grad(softplus)(0.3) == pytest.approx(1 / (1 + math.exp(-0.3)))
    finally:
        from srcdiff.rules import RULES
        RULES.remove(softplus, 1)


def plain(first_line: str) -> str:
    found = [b for b in PLAIN if b.lstrip().startswith(first_line)]
    assert len(found) == 1, f"{len(found)} output blocks start with {first_line!r}"
    return found[0]


def test_the_outputs_shown_are_what_srcdiff_prints(tmp_path):
    # two of the three output blocks (the third is the benchmark table, measured)
    h = lecture()["h"]
    shown = plain(">>> print(srcdiff.explain(h, 3))")
    assert str(srcdiff.explain(h, 3)).rstrip() == shown.split("\n", 1)[1].rstrip()
    error = plain("/tmp/readme_demo/model.py")
    folder = tmp_path  # the README shows /tmp/readme_demo
    (folder / "model.py").write_text(
        "import math\n\n\ndef f(x):\n    z = x\n    try:\n        z = math.log(z)\n"
        "    except ValueError:\n        z = 0.0\n    return z\n")
    model = runpy.run_path(str(folder / "model.py"), run_name="model")
    with pytest.raises(srcdiff.SrcdiffError) as caught:
        srcdiff.grad(model["f"])
    assert str(caught.value).rstrip() == error.rstrip().replace("/tmp/readme_demo",
                                                                 str(folder))
