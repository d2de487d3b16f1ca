"""Run dbt on this project in a subprocess, against a chosen DuckDB file and ledger.

A subprocess (not dbtRunner in-process) keeps each run's DuckDB file closed
when the call returns, so callers can open it right away.

Runs keep dbt's partial parse (a full parse of the project costs about 11 s):
the ledger is passed as CREDITS_LEDGER_PATH rather than in --vars, dbt runs
in the database's folder with a relative CREDITS_DB_PATH, and the last
`partial_parse.msgpack` made with the same vars, target and file name is
copied into the run's target folder. dbt checks that file's project, vars,
profile and file hashes itself and parses afresh when anything differs.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# this process's parse results, one per (vars, target, database file name);
# removed when the process exits
_PARSE_CACHE = Path(tempfile.gettempdir()) / f"credit-ledger-parse-{os.getpid()}"
atexit.register(shutil.rmtree, _PARSE_CACHE, True)


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
    dbt_vars = dict(dbt_vars or {})
    env = dict(os.environ)
    # dbt runs in the database's folder: a relative ledger path starts from
    # the project, as it would for a dbt run there
    ledger = dbt_vars.pop("ledger_path", None) or env.get("CREDITS_LEDGER_PATH")
    env["CREDITS_LEDGER_PATH"] = str(project_dir / (ledger or "data/sample_ledger"))
    db_path = db_path.absolute()
    target_dir = work_dir / "target"
    env.update(
        CREDITS_DB_PATH=db_path.name,
        DBT_TARGET_PATH=str(target_dir),
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
        command += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    target = args[args.index("--target") + 1] if "--target" in args else env.get("DBT_TARGET")
    parse_key = hashlib.sha1(
        json.dumps([dbt_vars, db_path.name, str(project_dir), target]).encode()
    ).hexdigest()
    cached_parse = _PARSE_CACHE / parse_key / PARTIAL_PARSE_FILE
    if cached_parse.exists() and not (target_dir / PARTIAL_PARSE_FILE).exists():
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached_parse, target_dir / PARTIAL_PARSE_FILE)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        command, cwd=db_path.parent, env=env, capture_output=True, text=True
    )
    if (target_dir / PARTIAL_PARSE_FILE).exists():
        cached_parse.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target_dir / PARTIAL_PARSE_FILE, cached_parse)
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
