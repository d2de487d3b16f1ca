"""The README's query examples work as written: the DuckDB shell command and
the Python snippet run against a built database, from the project root's
layout (`credits.duckdb`, `.venv/bin/...`)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text()
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)
VENV_BIN = Path(sys.executable).parent


def _root_with_database(root: Path, sample: BuiltLedger) -> Path:
    """A folder laid out like the project root after `make build`."""
    (root / "credits.duckdb").symlink_to(sample.db_path)
    return root


def test_readme_duckdb_shell_examples_run(sample_build: BuiltLedger, tmp_path: Path) -> None:
    commands = [line for kind, body in BLOCKS if kind == "sh"
                for line in body.splitlines() if line.startswith(".venv/bin/duckdb ")]
    assert commands, "the README shows no DuckDB shell example"
    root = _root_with_database(tmp_path, sample_build)
    for command in commands:
        argv = shlex.split(command)
        argv[0] = str(VENV_BIN / "duckdb")
        done = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        assert "reconciled" in done.stdout


def test_readme_python_examples_run(sample_build: BuiltLedger, tmp_path: Path) -> None:
    snippets = [body for kind, body in BLOCKS if kind == "python"]
    assert snippets, "the README shows no Python example"
    root = _root_with_database(tmp_path, sample_build)
    for snippet in snippets:
        done = subprocess.run([sys.executable, "-c", snippet], cwd=root,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{snippet}\n{done.stderr}"
        assert "users do not reconcile" in done.stdout
