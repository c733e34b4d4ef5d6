"""The parts of docs/ARCHITECTURE.md import downward only: checked on the project's own imports."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def lint_imports(*, cwd: Path = REPOSITORY) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_no_part_imports_a_part_above_it() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """The contract bites: the same check on a copy where cachereports imports jobs fails."""
    contract = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["importlinter"]
    for part in contract["root_packages"]:
        shutil.copytree(REPOSITORY / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPOSITORY / "pyproject.toml", tmp_path / "pyproject.toml")
    upward = tmp_path / "cachereports" / "selectors" / "reports.py"
    upward.write_text(upward.read_text() + "\nfrom jobs import selectors as _upward\n")
    result = lint_imports(cwd=tmp_path)
    assert result.returncode != 0
    assert "cachereports.selectors.reports -> jobs.selectors" in result.stdout
