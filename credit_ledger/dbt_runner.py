"""Run dbt on this project in a subprocess, against a chosen DuckDB file and ledger.

A subprocess (not dbtRunner in-process) keeps each run's DuckDB file closed
when the call returns, so callers can open it right away.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass
class DbtResult:
    """What one dbt invocation returned."""

    returncode: int
    output: str
    results: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def status_of(self, unique_id_suffix: str) -> str | None:
        """Status of the first node whose unique_id ends with the suffix."""
        for result in self.results:
            if result["unique_id"].endswith(unique_id_suffix):
                return str(result["status"])
        return None

    def failed_nodes(self) -> list[str]:
        return [
            r["unique_id"]
            for r in self.results
            if r["status"] in ("error", "fail", "runtime error")
        ]


def dbt_executable() -> str:
    """The dbt entry point of the interpreter running this code."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    args: Sequence[str],
    *,
    db_path: Path,
    work_dir: Path,
    dbt_vars: Mapping[str, Any] | None = None,
    project_dir: Path = PROJECT_DIR,
    check: bool = False,
    publish_path: Path | None = None,
) -> DbtResult:
    """Run `dbt <args>` with the DuckDB file `db_path`; artifacts go to `work_dir`.

    With `publish_path`, run it through `python -m credit_ledger.build`, which
    copies `db_path` over `publish_path` when the run passed (its last output
    line says what it did).
    """
    env = dict(os.environ)
    env.update(
        CREDITS_DB_PATH=str(db_path),
        DBT_TARGET_PATH=str(work_dir / "target"),
        DBT_LOG_PATH=str(work_dir / "logs"),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    if publish_path is not None:
        env["CREDITS_PUBLISH_PATH"] = str(publish_path)
    runner = (
        [sys.executable, "-m", "credit_ledger.build"]
        if publish_path is not None
        else [dbt_executable()]
    )
    command = [
        *runner,
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
    ]
    if dbt_vars:
        command += ["--vars", json.dumps(dict(dbt_vars))]
    completed = subprocess.run(
        command, cwd=project_dir, env=env, capture_output=True, text=True
    )
    run_results_path = work_dir / "target" / "run_results.json"
    results: list[dict[str, Any]] = []
    elapsed = 0.0
    if run_results_path.exists():
        run_results = json.loads(run_results_path.read_text())
        results = run_results.get("results", [])
        elapsed = float(run_results.get("elapsed_time", 0.0))
        run_results_path.unlink()
    result = DbtResult(
        completed.returncode, completed.stdout + completed.stderr, results, elapsed
    )
    if check and not result.ok:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.output[-6000:]}")
    return result
