"""Golden files pin the generated source: any change to what users read is deliberate.

To accept a change, run ``SRCDIFF_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and
review the diff of tests/golden/.
"""

import os
import pathlib

import pytest

import srcdiff
import programs
import programs_calls
import programs_control

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = {
    "lecture": (programs.lecture, 0),
    "lecture_graph": (programs.lecture_graph, ("a", "b")),
    "reassignment": (programs.reassignment, ("x", "y")),
    "tuple_swap": (programs.tuple_swap, 0),
    "builtins_min_max_abs": (programs.builtins_min_max_abs, 0),
    "nondifferentiable_parts": (programs.nondifferentiable_parts, 0),
    "shared_subexpressions": (programs.shared_subexpressions, ("x", "y")),
    "constant_output": (programs.constant_output, 0),
    "for_range": (programs_control.for_range, 0),
    "loop_with_break": (programs_control.loop_with_break, 0),
    "return_inside_loop": (programs_control.return_inside_loop, 0),
    "branch_inside_loop": (programs_control.branch_inside_loop, 0),
    "nested_function_and_lambda": (programs_calls.nested_function_and_lambda, 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_golden(name):
    func, wrt = CASES[name]
    text = srcdiff.source(srcdiff.grad(func, wrt=wrt))
    path = GOLDEN / f"{name}.py"
    if os.environ.get("SRCDIFF_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"no golden file {path}; run with SRCDIFF_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_lecture_gradient_reads_like_hand_written_code():
    """The acceptance criterion of the core issue, spelled out."""
    text = (GOLDEN / "lecture.py").read_text()
    body = [line.strip() for line in text.splitlines()[2:]]
    assert body == [
        "f = x ** 2",
        "g = math.log(f)",  # kept: math.log raises where h is undefined
        "b_f = 1.0 / f  # grad of: g = math.log(f)",
        "b_x = b_f * (2 * x)  # grad of: f = x ** 2",
        "return b_x",
    ]
