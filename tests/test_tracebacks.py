"""The traceback the interpreter prints for an uncaught error shows the line of
generated code that failed, on every supported Python (3.11 and 3.12 read files there,
not linecache: srcdiff.tracebacks), and tracebacks that do not pass through generated
code are printed exactly as without srcdiff."""

import subprocess
import sys
import textwrap


def run(tmp_path, source):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)


def test_an_uncaught_error_in_generated_code_shows_its_line(tmp_path):
    result = run(tmp_path, """
        import math
        import srcdiff

        def f(x):
            y = math.log(x)
            return y * y

        srcdiff.grad(f)(-1.0)
    """)
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("ValueError: math domain error")
    lines = result.stderr.splitlines()
    where = next(i for i, line in enumerate(lines) if '"<srcdiff generated df_dx of f' in line)
    assert lines[where + 1].strip() == "y = math.log(x)"


def test_other_tracebacks_are_printed_as_without_srcdiff(tmp_path):
    body = """
        def g(x):
            return 1 / x

        g(0)
    """
    plain = run(tmp_path, body)
    with_srcdiff = run(tmp_path, "import srcdiff" + textwrap.dedent(body))  # on line 1
    assert plain.returncode == with_srcdiff.returncode == 1
    assert with_srcdiff.stderr == plain.stderr


def test_a_hook_set_before_is_kept(tmp_path):
    result = run(tmp_path, """
        import sys
        sys.excepthook = lambda *args: print("their hook", file=sys.stderr)
        import srcdiff
        raise ValueError("x")
    """)
    assert result.stderr == "their hook\n"
