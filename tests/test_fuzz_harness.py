"""The fuzz harness can fail: a wrong derivative rule, a pipeline setting that disagrees,
and a nan without a singular derivative are verdicts that fail CI; a nan where an
intermediate's derivative is singular is ``nonfinite``. Without these, a harness that
returned ``ok`` for everything would look the same as a correct srcdiff."""

import dataclasses
import math

import numpy
import pytest

from fuzz.case import Case
from fuzz.harness import Run, run_case
from srcdiff.rules import RULES


def scalar_case(body, point, seed=0):
    source = "import math\n\n\ndef program(x0, x1):\n" + body
    return Case("scalar", seed, source, point, (0, 1), ("x0", "x1"))


def array_case(body, point, seed=0):
    source = "import numpy as np\n\n\ndef program(x, s):\n" + body
    return Case("arrays", seed, source, point, (0, 1), ("x", "s"), ranks={"x": 1})


LOOP = ("    s = x1\n"
        "    for i in range(3):\n"
        "        s = math.sin(s + x0)\n"
        "    return s * x1\n")
ARRAY_LOOP = ("    h = x\n"
              "    for i in range(2):\n"
              "        h = np.sin(h * s)\n"
              "    return np.sum(h ** 2)\n")
ARRAY_POINT = (numpy.array([0.3, -0.7, 1.1]), 0.8)


@pytest.fixture
def broken_sin():
    """math.sin (and numpy.sin, which shares its rule) differentiated as 1.1 * cos."""
    from srcdiff.expr import cos
    saved = {key: rule for key, rule in RULES.rules.items()
             if key[0] in (math.sin, numpy.sin)}
    for key, rule in saved.items():
        RULES.rules[key] = dataclasses.replace(rule, partials=lambda x: 1.1 * cos(x))
    yield
    RULES.rules.update(saved)


def test_a_correct_program_is_ok():
    assert run_case(scalar_case(LOOP, (0.4, -0.9))).verdict == "ok"
    assert run_case(array_case(ARRAY_LOOP, ARRAY_POINT)).verdict == "ok"


def test_a_module_the_generator_wrote_that_does_not_load_fails():
    # a renamed local inside an f-string's conversion (scalar seed 851279) did not parse:
    # such a program was skipped, a hole in the campaign nobody saw
    result = run_case(scalar_case('    raise ValueError(f"{x0!iterations}")\n', (0.5, 0.7)))
    assert (result.verdict, result.category) == ("internal", "internal:generator-load")


def test_a_wrong_rule_is_wrong_against_forward_mode(broken_sin):
    result = run_case(scalar_case(LOOP, (0.4, -0.9), seed=1))
    assert result.verdict == "wrong"
    assert result.category.startswith("wrong:forward-mode"), result.category


def test_a_wrong_rule_is_wrong_against_differences(broken_sin):
    result = run_case(array_case(ARRAY_LOOP, ARRAY_POINT, seed=1))
    assert result.verdict == "wrong"
    assert result.category.startswith("wrong:differences"), result.category


def test_a_setting_that_disagrees_is_wrong(monkeypatch):
    real = Run.variant

    def doubled_when_unoptimized(self, strict=False, **options):
        gradients = real(self, strict=strict, **options)
        return tuple(2 * g for g in gradients) if options.get("optimize") is False else gradients

    monkeypatch.setattr(Run, "variant", doubled_when_unoptimized)
    result = run_case(scalar_case(LOOP, (0.4, -0.9), seed=2))
    assert (result.verdict, result.category) == ("wrong", "wrong:variant:optimizer-off")


def test_a_singular_intermediate_is_nonfinite():
    # hypot(0, 0) has no derivative: the gradient is nan for x0 (0 * inf), the function is x1
    result = run_case(scalar_case("    z = x0 * (x1 > x1)\n    return math.hypot(z, z) + x1\n",
                                  (0.5, 0.25), seed=3))
    assert result.verdict == "nonfinite", result.line()
    # the norm of a zero vector, in NumPy
    result = run_case(array_case("    return np.linalg.norm(x - x) + s * np.sum(x)\n",
                                 ARRAY_POINT, seed=3))
    assert result.verdict == "nonfinite", result.line()


def test_nan_without_a_singular_derivative_is_wrong(monkeypatch):
    """A gradient that is nan where nothing raises under strict arithmetic is no excuse."""
    real = Run.variant

    def never_raises(self, strict=False, **options):
        try:
            return real(self, strict=False, **options)
        except ArithmeticError:
            return real(self, strict=False, ieee=True, **options)

    monkeypatch.setattr(Run, "variant", never_raises)
    result = run_case(scalar_case("    z = x0 * (x1 > x1)\n    return math.hypot(z, z) + x1\n",
                                  (0.5, 0.25), seed=4))
    assert result.verdict in ("wrong", "internal"), result.line()


# A kink exactly at the point (campaign scalar seed 202521): central differences average
# the slopes on either side at every step size, so the two step sizes agree; the one-sided
# slopes do not, and the element is not compared.
KINK = ("    if x0 > 0.0:\n"
        "        return x1 * x1\n"
        "    return x0 + x1 * x1\n")


def test_a_kink_at_the_point_is_not_an_oracle():
    result = run_case(array_case("    return np.sum(np.where(x > 0.0, 0.0, x)) * s\n",
                                 (numpy.array([0.0, -0.5, 0.7]), 1.5)))
    assert result.verdict == "ok", result.line()
    assert "1 of 4 elements not compared (kink)" in result.notes, result.notes
    # scalar programs have dual numbers too; without them the verdict comes from differences
    import dual

    def unavailable(*args, **kwargs):
        raise ZeroDivisionError("no dual numbers here")
    saved, dual.forward_gradient = dual.forward_gradient, unavailable
    try:
        result = run_case(scalar_case(KINK, (0.0, 0.6)))
    finally:
        dual.forward_gradient = saved
    assert result.verdict == "ok", result.line()
    assert "1 of 2 elements not compared (kink)" in result.notes, result.notes


def test_a_wrong_rule_next_to_a_kink_is_still_wrong(broken_sin):
    """The elements away from the kink are still compared."""
    body = "    return np.sum(np.where(x > 0.0, 0.0, np.sin(x))) * s\n"
    result = run_case(array_case(body, (numpy.array([0.0, -0.5, -0.7]), 1.5), seed=2))
    assert result.verdict == "wrong", result.line()


def doubling_second_derivatives(monkeypatch):
    """grad(grad(f)) made twice what it should be; returns the real one."""
    import srcdiff.api
    real = srcdiff.api._of_gradient

    def doubled(*args, **kwargs):
        second = real(*args, **kwargs)
        return lambda *a, **k: 2.0 * second(*a, **k)
    monkeypatch.setattr(srcdiff.api, "_of_gradient", doubled)
    return real


def test_a_wrong_second_derivative_is_wrong(monkeypatch):
    """grad(grad(f)) is checked against differences of grad(f): doubled, it is wrong."""
    import srcdiff.api
    real = doubling_second_derivatives(monkeypatch)
    result = run_case(scalar_case(LOOP, (0.4, -0.9), seed=3))
    assert result.verdict == "wrong", result.line()
    assert result.category == "wrong:second", result.category
    monkeypatch.setattr(srcdiff.api, "_of_gradient", real)
    assert run_case(scalar_case(LOOP, (0.4, -0.9), seed=3)).verdict == "ok"


@pytest.fixture
def leaky_stop_gradient():
    """srcdiff.stop_gradient differentiated as the identity (derivatives flow through)."""
    import srcdiff
    RULES.nondifferentiable.discard(srcdiff.stop_gradient)
    srcdiff.register_rule(srcdiff.stop_gradient, lambda x: 1.0)
    yield
    RULES.remove(srcdiff.stop_gradient, 1)
    RULES.nondifferentiable.add(srcdiff.stop_gradient)


STOPPED = ("    c = srcdiff.stop_gradient(x0 * x1)\n"
           "    return math.sin(c * x0) + x1\n")


def test_stop_gradient_is_judged_by_both_oracles(leaky_stop_gradient):
    """Dual numbers drop the stopped value's tangent; central differences replay the
    value it had at the point: each finds a stop_gradient that lets derivatives through."""
    case = scalar_case(STOPPED, (0.4, -0.9), seed=4)
    case = dataclasses.replace(case, source=case.source.replace("import math\n",
                                                                "import math\nimport srcdiff\n"))
    assert run_case(case).category.startswith("wrong:forward-mode")
    body = "    m = srcdiff.stop_gradient(np.mean(x))\n    return np.sum((x - m) * x) * s\n"
    case = array_case(body, ARRAY_POINT, seed=4)
    case = dataclasses.replace(case, source=case.source.replace("import numpy as np\n",
                                                                "import numpy as np\nimport srcdiff\n"))
    assert run_case(case).category.startswith("wrong:differences")


def test_stop_gradient_is_ok_when_handled():
    case = scalar_case(STOPPED, (0.4, -0.9), seed=5)
    case = dataclasses.replace(case, source=case.source.replace("import math\n",
                                                                "import math\nimport srcdiff\n"))
    assert run_case(case).verdict == "ok"


def test_time_limits_count_cpu_time():
    """A busy machine (CI's three Pythons on two cores, a campaign beside other work)
    must not turn a slow program into an 'internal: does not finish' verdict: the limits
    count this process's CPU time, so waiting is not counted and spinning is."""
    import time
    from fuzz.harness import Timeout, deadline
    with pytest.raises(Timeout, match="CPU time"):
        with deadline(0.2):
            while True:
                pass
    with deadline(0.05):
        time.sleep(0.2)   # no CPU spent: not interrupted


def test_second_derivatives_are_not_judged_where_they_jump_or_at_a_kink():
    """Two points where second differences and srcdiff rightly differ (campaign scalar
    seeds 633720, 733620): f'' jumps at 0 (a branch switches there: the central
    difference averages the sides), and |log cosh x| at 0, smooth (x**2 / 2), where
    fabs sits exactly at its kink and its derivative is sign(0) = 0 by convention.
    Neither is wrong; a doubled second derivative at the same points still is."""
    jump = ("    b = x0 < math.sin(x0)\n"
            "    return math.cos(b * x0) + x1\n")
    kink = "    return math.fabs(math.log(math.cosh(x0))) + x1\n"
    result = run_case(scalar_case(jump, (0.0, 0.5)))
    assert result.verdict == "ok" and "second derivative jumps at the point" in " ".join(result.notes)
    result = run_case(scalar_case(kink, (0.0, 0.5)))
    assert result.verdict == "ok" and "a primitive exactly at its kink" in " ".join(result.notes)
    assert run_case(scalar_case(kink, (0.3, 0.5))).notes == []  # away from it: judged


def test_a_doubled_second_derivative_at_a_kink_is_still_wrong(monkeypatch):
    doubling_second_derivatives(monkeypatch)
    kink = "    return math.fabs(math.log(math.cosh(x0))) + x1\n"
    result = run_case(scalar_case(kink, (0.0, 0.5)))
    assert result.category == "wrong:second", result.line()


# a loop that runs only where x0 is exactly 0 (hypot(0, 0) == 0): the derivative along the
# path taken there (degrees: 180/π) is not what central differences see on either side (1)
BRANCH_AT_POINT = ("    steps = 0\n"
                   "    while (x1 > x1) >= math.hypot(x0, steps):\n"
                   "        steps += 1\n"
                   "        x0 = math.degrees(x0)\n"
                   "    return x0 + math.sin(x1)\n")


def test_a_branch_taken_only_at_the_point_is_not_judged_by_differences():
    # campaign seed 756988: the dual oracle raises there (hypot's tangent at 0), so
    # central differences were trusted and the program called wrong
    result = run_case(scalar_case(BRANCH_AT_POINT, (0.0, 0.6)))
    assert result.verdict == "skipped", result.line()
    assert result.category == "skipped:branch-at-point"


def test_a_branch_inside_a_line_taken_only_at_the_point_is_not_judged_by_differences():
    # campaign seed 801683: a conditional expression whose test, hypot(x0, x0), is zero
    # only at x0 = 0; its two branches share a line, so the lines run are the same on
    # both sides and at the point: only the instructions tell them apart
    line_only = "    x0 /= 2.0 + (x0 if math.hypot(x0, x0) else 1.0)\n    return x0 * x1\n"
    result = run_case(scalar_case(line_only, (0.0, 1.5)))
    assert result.category == "skipped:branch-at-point", result.line()
    assert run_case(scalar_case(line_only, (0.5, 1.5))).verdict == "ok"  # away: judged


def test_a_wrong_rule_on_the_same_path_on_both_sides_is_still_wrong(broken_sin):
    # away from 0 the loop does not run, at the point and beside it alike: no skip
    import dual

    def unavailable(*args, **kwargs):
        raise ZeroDivisionError("no dual numbers here")
    saved, dual.forward_gradient = dual.forward_gradient, unavailable
    try:
        result = run_case(scalar_case(BRANCH_AT_POINT, (0.5, 0.6), seed=3))
    finally:
        dual.forward_gradient = saved
    assert result.verdict == "wrong", result.line()
    assert result.category.startswith("wrong:differences"), result.category


def test_a_point_singular_only_in_float32_is_nonfinite():
    """Campaign arrays seed 820262: rounded to float32, the variance of equal values is 0
    (in float64 about 1e-32), and the norm of a zero vector has no derivative: the float32
    gradient is nan where float64's is finite. Proved singular by strict arithmetic, it is
    ``nonfinite``; judged ``wrong`` before."""
    source = ("import numpy as np\n\n\ndef program(x, s):\n"
              "    u = s + np.zeros(3)\n"
              "    var = (u - np.mean(u)) ** 2\n"
              "    M = np.zeros_like(x)\n"  # float32 when x is
              "    M[1] = var\n"
              "    return np.linalg.norm(M) + np.sum(x)\n")
    x = numpy.array([[0.99, 0.89, -0.51], [-0.99, 0.20, -0.08]])
    case = Case("arrays", 5, source, (x, -0.669005368747652), (0, 1), ("x", "s"),
                ranks={"x": 2}, float32=True)
    result = run_case(case)
    assert (result.verdict, result.category) == ("nonfinite", "nonfinite:float32"), result.line()


def test_a_refusal_of_srcdiffs_own_code_is_not_a_refusal():
    """srcdiff refusing what it wrote (generated code, differentiated again for second
    derivatives) or its own helpers is srcdiff failing, not the program being outside
    the language: an internal verdict wherever the harness asks, grad(grad(f)) too."""
    import srcdiff.runtime
    from fuzz.harness import is_refusal
    from srcdiff.errors import UnsupportedSyntaxError

    def error(filename):
        return UnsupportedSyntaxError("refused", filename=filename, lineno=1, col=0)
    assert is_refusal(error(__file__))
    assert not is_refusal(error("<srcdiff generated dprogram_dx0 of program #3>"))
    assert not is_refusal(error(srcdiff.runtime.__file__))


def test_grad_of_grad_refusing_srcdiffs_own_code_is_internal(monkeypatch):
    """grad(grad(f)) refusing the gradient srcdiff wrote (issue 12's gap, closed by the
    cofactor rule and the indices as values) is an internal verdict, not a note."""
    import srcdiff
    from srcdiff.errors import UnsupportedSyntaxError
    real = srcdiff.grad

    def refusing_generated_code(func, *args, **kwargs):
        if getattr(func, "__srcdiff_of__", None) is not None:  # a gradient, differentiated again
            raise UnsupportedSyntaxError("refused", filename="<srcdiff generated g of f #1>",
                                         lineno=1, col=0)
        return real(func, *args, **kwargs)
    monkeypatch.setattr(srcdiff, "grad", refusing_generated_code)
    result = run_case(scalar_case(LOOP, (0.4, -0.9), seed=6))
    assert (result.verdict, result.category) == ("internal", "internal:second:generated-code")


RAISES = ("    s = x0 * x1\n"
          "    if s > 0.1:\n"
          "        raise ValueError(f\"fuzz: s = {s!r}\")\n"
          "    return s\n")


def test_the_programs_own_raise_must_be_raised_by_the_gradient_as_written(monkeypatch):
    """Where the primal raises the program's own exception ("fuzz:" in its message), the
    gradient raises the same exception with the same message; another is wrong."""
    assert run_case(scalar_case(RAISES, (0.5, 0.6), seed=3)).verdict == "ok"
    import srcdiff
    real = srcdiff.grad

    def renamed(func, *args, **kwargs):
        gradient = real(func, *args, **kwargs)

        def run(*values):
            try:
                return gradient(*values)
            except ValueError as error:
                raise ValueError(str(error).replace("s =", "s is")) from None
        return run
    monkeypatch.setattr(srcdiff, "grad", renamed)
    result = run_case(scalar_case(RAISES, (0.5, 0.6), seed=4))
    assert (result.verdict, result.category) == ("wrong", "wrong:other-exception")


def test_a_refusal_where_the_primal_raises_is_a_refusal(monkeypatch):
    """srcdiff refusing a program whose primal raises is counted as refused, not as the
    gradient raising where the function does."""
    import srcdiff
    from srcdiff.errors import UnsupportedSyntaxError

    def refuse(func, *args, **kwargs):
        raise UnsupportedSyntaxError("refused", filename="<fuzz>", lineno=1, col=0)
    monkeypatch.setattr(srcdiff, "grad", refuse)
    monkeypatch.setattr(srcdiff, "value_and_grad", refuse)
    result = run_case(scalar_case(RAISES, (0.5, 0.6), seed=5))
    assert result.verdict == "refused", result


def test_a_program_without_branches_takes_no_branch_at_the_point():
    # Python 3.12 gave no opcode events the first time in a process a traced frame asked
    # for them: the point's path was shorter than its neighbours', a "branch at the point"
    # that hid the wrong rule of test_a_wrong_rule_is_wrong_against_differences (skipped,
    # not wrong). In a fresh interpreter: earlier tests here would have asked already.
    import os
    import subprocess
    import sys
    script = ("from test_fuzz_harness import array_case, ARRAY_LOOP, ARRAY_POINT\n"
              "from fuzz.harness import Run, load\n"
              "run = Run(array_case(ARRAY_LOOP, ARRAY_POINT, seed=5))\n"
              "run.program, run.namespace = load(run.case)\n"
              "print(run.branch_only_at_point())\n")
    here = os.path.dirname(os.path.abspath(__file__))
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           cwd=here, env=environment, check=True).stdout.strip()
    assert found == "False"
