"""srcdiff's types, as users and CI see them: ``mypy --strict`` passes on srcdiff/
(pyproject's configuration, which is strict), the stub of srcdiff/runtime.py matches the
module (mypy's stubtest), and ``mypy --strict`` accepts a typed user script and rejects
exactly the calls of gradients marked ``# error`` in another (a gradient keeps its
function's parameters). mypy runs on the checkout, not on an installed srcdiff (MYPYPATH),
with its cache in a temporary folder shared by the runs."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
USER_OK = ROOT / "tests" / "typing" / "user_ok.py"
USER_WRONG = ROOT / "tests" / "typing" / "user_wrong.py"
# path:line: error: message  [code]   (notes and the summary line are not errors)
_ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*)$")

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                                reason="mypy is not installed (pip install mypy, or the "
                                       "test extra: pip install -e .[test])")


def _mypy(cache: Path, *arguments: str) -> tuple[int, str]:
    """mypy's exit status and report, run from the repository root with pyproject's
    configuration and the checkout's srcdiff."""
    environment = dict(os.environ, MYPYPATH=str(ROOT))
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(cache), "--no-color-output", "--no-pretty", *arguments],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    return completed.returncode, completed.stdout + completed.stderr


def _errors(report: str, path: Path) -> dict[int, list[str]]:
    """The errors mypy reports in ``path``, by line."""
    found: dict[int, list[str]] = {}
    for line in report.splitlines():
        match = _ERROR.match(line)
        if match and (ROOT / match["path"]).resolve() == path:
            found.setdefault(int(match["line"]), []).append(match["message"])
    return found


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy_cache")


@pytest.fixture(scope="module")
def strict_report(cache: Path) -> tuple[int, str]:
    """One ``mypy --strict`` run over both user scripts (srcdiff's own modules are
    analysed for their types, their errors not reported: --follow-imports=silent)."""
    return _mypy(cache, "--strict", "--follow-imports=silent",
                 str(USER_OK.relative_to(ROOT)), str(USER_WRONG.relative_to(ROOT)))


def test_mypy_configuration_is_strict() -> None:
    """What the next test runs is ``mypy --strict``: pyproject says so, and turns no check
    off for srcdiff's modules (only SymPy and mpmath, which ship no types, are let in
    untyped)."""
    import tomllib
    configuration = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert configuration["strict"] is True
    for override in configuration.get("overrides", []):
        assert set(override) == {"module", "ignore_missing_imports"}, override
        assert all(m.split(".")[0] in ("sympy", "mpmath") for m in override["module"]), override


def test_srcdiff_passes_mypy(cache: Path) -> None:
    status, report = _mypy(cache, "srcdiff")
    assert status == 0, report


def test_runtime_stub_matches_the_module() -> None:
    """srcdiff/runtime.py's helpers carry no annotations (their source is copied into
    generated modules); srcdiff/runtime.pyi gives their types, and must name the same
    functions with the same parameters."""
    if importlib.util.find_spec("numpy") is None:
        pytest.skip("stubtest imports srcdiff/runtime.py, which imports NumPy (not installed)")
    environment = dict(os.environ, MYPYPATH=str(ROOT))
    completed = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "srcdiff.runtime",
         "--mypy-config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_typed_user_script_passes_strict(strict_report: tuple[int, str]) -> None:
    status, report = strict_report
    assert status in (0, 1), report  # 1: the errors of user_wrong.py; 2: mypy failed
    assert _errors(report, USER_OK) == {}, report


def test_wrong_calls_of_gradients_are_rejected(strict_report: tuple[int, str]) -> None:
    status, report = strict_report
    marked = {number for number, text in enumerate(USER_WRONG.read_text().splitlines(), 1)
              if text.rstrip().endswith("# error")}
    assert marked, "user_wrong.py marks no line with # error"
    found = _errors(report, USER_WRONG)
    assert status == 1, report
    assert sorted(found) == sorted(marked), report
