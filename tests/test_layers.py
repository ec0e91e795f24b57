"""The layer contract (pyproject.toml, [tool.importlinter]) holds, and fails on an upward
import: a copy of the package with one planted import must break it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("lint-imports")
    if executable is None:
        reason = "import-linter is not installed (pip install '.[test]')"
        if os.environ.get("GENAILOG_REQUIRE_ALL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([executable, str(root / "pyproject.toml")], cwd=root,
                          env=env, capture_output=True, text=True, check=False)


def test_the_layers_hold() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_planted_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "genailog", tmp_path / "genailog")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    schema = tmp_path / "genailog" / "schema" / "columns.py"
    schema.write_text(schema.read_text(encoding="utf-8")
                      + "\nfrom genailog.analysis import summarize  # noqa\n", encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "genailog.schema.columns -> genailog.analysis" in result.stdout, result.stdout
    assert sys.executable  # the same interpreter runs both
