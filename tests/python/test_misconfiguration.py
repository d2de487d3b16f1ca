"""A misconfigured run fails early with a message that says what to fix."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BuildLedger
from credit_ledger.dbt_runner import PROJECT_DIR, run_dbt
from credit_ledger.ledger_files import write_ledger
from ledgers import entry, ledger

ROWS = [entry(1, 1, "monthly_allocation", 100.0, "2024-03-01 10:00:00", previous_amount=0.0)]


def test_missing_ledger_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_dir"
    result = run_dbt(["build"], db_path=tmp_path / "credits.duckdb", work_dir=tmp_path,
                     dbt_vars={"ledger_path": str(missing)})
    assert not result.ok
    assert f"ledger_path '{missing}' does not exist or is empty" in result.output


def test_missing_table_file_is_named(build_ledger: BuildLedger, tmp_path: Path) -> None:
    ledger_dir = tmp_path / "partial"
    tables = ledger(ROWS)
    del tables["subscriptions"]
    write_ledger(ledger_dir, tables)
    run = build_ledger(ledger_dir=ledger_dir, check=False)
    assert not run.result.ok
    assert f"ledger file '{ledger_dir}/subscriptions.csv' is missing" in run.result.output


def test_missing_required_column_is_named(build_ledger: BuildLedger, tmp_path: Path) -> None:
    ledger_dir = tmp_path / "no_amount"
    write_ledger(ledger_dir, ledger(ROWS))
    path = ledger_dir / "credit_histories.csv"
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, [c for c in rows[0] if c != "amount"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    run = build_ledger(ledger_dir=ledger_dir, check=False)
    assert not run.result.ok
    assert "credit_histories.csv' is missing required column(s): amount" in run.result.output


def test_unknown_ledger_format_is_named(build_ledger: BuildLedger, tmp_path: Path) -> None:
    ledger_dir = tmp_path / "ok"
    write_ledger(ledger_dir, ledger(ROWS))
    run = build_ledger(ledger_dir=ledger_dir, check=False, extra_vars={"ledger_format": "xlsx"})
    assert not run.result.ok
    assert "var ledger_format must be 'csv' or 'parquet', got 'xlsx'" in run.result.output


PYENV = Path.home() / ".pyenv" / "versions"


def _unsupported_pythons() -> list[Path]:
    """Interpreters outside 3.11-3.13 found on this machine (pyenv's)."""
    found = [path for version in ("2.7", "3.9", "3.10", "3.14")
             for path in sorted(PYENV.glob(f"{version}.*/bin/python"))]
    return found or [Path("/nonexistent/python")]


@pytest.mark.parametrize("python", _unsupported_pythons(), ids=lambda path: path.parts[-3])
def test_setup_refuses_an_unsupported_python(python: Path, tmp_path: Path) -> None:
    """`make` stops before creating the environment, naming the range."""
    if not python.exists():
        pytest.skip("no interpreter outside 3.11-3.13 on this machine")
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    done = subprocess.run(["make", "setup", f"PYTHON={python}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "use Python 3.11, 3.12 or 3.13" in done.stderr
    assert not (tmp_path / ".venv").exists()
