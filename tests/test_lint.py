"""The linter (ruff, configured in pyproject.toml: pyflakes and pycodestyle's error
classes) finds nothing in the repository: unused imports, undefined names, shadowed
loop variables and the like are caught where they are written."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_ruff_finds_nothing():
    try:
        import ruff  # noqa: F401  (the test extra installs it)
    except ImportError:
        pytest.skip("ruff is not installed (pip install -e '.[test]' installs it)")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                                       str(ROOT)], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
