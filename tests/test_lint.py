"""The code base stays clean under ruff (rules and line length in pyproject.toml [tool.ruff])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, f"ruff check failed:\n{result.stdout}{result.stderr}"
