"""Run dbt on this project, against a chosen DuckDB file and ledger, as the
`dbt` command would, from a long-lived child process.

Each call goes to an idle child (`python -m credit_ledger.dbt_runner
serve`, started when none is idle and kept until this process exits) that
runs dbt's command line in-process: importing dbt and its adapters costs
3-4 s per process, and a test suite makes about a hundred dbt calls. The
child gives each call the caller's environment and folder, captures
everything written to its stdout and stderr, returns dbt's exit code, and
closes dbt-duckdb's database after every call, so callers can open the
file right away (DuckDB admits one process per file).

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
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Mapping, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# parse results, one per (vars, target, database file name): in
# $CREDITS_PARSE_CACHE, a folder the processes of a test run share (each
# file is replaced whole), else in one of this process's own, removed when
# it exits
PARSE_CACHE_ENV = "CREDITS_PARSE_CACHE"
_OWN_PARSE_CACHE = Path(tempfile.gettempdir()) / f"credit-ledger-parse-{os.getpid()}"
atexit.register(shutil.rmtree, _OWN_PARSE_CACHE, True)


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

    With `publish_path`, run it as `python -m credit_ledger.build` would,
    which copies `db_path` over `publish_path` when the run passed (its last
    output line says what it did).
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
    command = [*args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    target = args[args.index("--target") + 1] if "--target" in args else env.get("DBT_TARGET")
    parse_key = hashlib.sha1(
        json.dumps([dbt_vars, db_path.name, str(project_dir), target]).encode()
    ).hexdigest()
    parse_cache = Path(env.get(PARSE_CACHE_ENV) or _OWN_PARSE_CACHE)
    cached_parse = parse_cache / parse_key / PARTIAL_PARSE_FILE
    if cached_parse.exists() and not (target_dir / PARTIAL_PARSE_FILE).exists():
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached_parse, target_dir / PARTIAL_PARSE_FILE)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    returncode, output = call_dbt(command, env, db_path.parent, publish=publish_path is not None)
    if (target_dir / PARTIAL_PARSE_FILE).exists():
        cached_parse.parent.mkdir(parents=True, exist_ok=True)
        partial = cached_parse.with_name(
            f"{PARTIAL_PARSE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
        shutil.copyfile(target_dir / PARTIAL_PARSE_FILE, partial)
        os.replace(partial, cached_parse)
    run_results_path = work_dir / "target" / "run_results.json"
    results: list[dict[str, Any]] = []
    elapsed = 0.0
    if run_results_path.exists():
        run_results = json.loads(run_results_path.read_text())
        results = run_results.get("results", [])
        elapsed = float(run_results.get("elapsed_time", 0.0))
        run_results_path.unlink()
    result = DbtResult(returncode, output, results, elapsed)
    if check and not result.ok:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.output[-6000:]}")
    return result


class _DbtProcess:
    """A child running `serve`: one JSON request per line on its stdin, one
    JSON reply per line on its stdout."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "credit_ledger.dbt_runner", "serve"],
            cwd=PROJECT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )

    def call(self, request: dict[str, Any]) -> int | None:
        """dbt's exit code, None when the child died."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            return None
        reply = self.process.stdout.readline()
        return int(json.loads(reply)["returncode"]) if reply else None

    def close(self) -> None:
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()  # the child's loop ends
        except OSError:  # it died with a request unread
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


_IDLE: list[_DbtProcess] = []
_IDLE_LOCK = threading.Lock()


@atexit.register
def _close_idle() -> None:
    with _IDLE_LOCK:
        while _IDLE:
            _IDLE.pop().close()


def call_dbt(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, *, publish: bool = False
) -> tuple[int, str]:
    """(exit code, output) of `dbt <args>` (or of `python -m credit_ledger.build
    <args>` with `publish`) run by an idle child; concurrent callers (threads)
    get a child each."""
    child = None
    with _IDLE_LOCK:
        while _IDLE and child is None:
            idle = _IDLE.pop()
            if idle.process.poll() is None:
                child = idle
            else:  # killed while idle (e.g. an interrupt to the process group)
                idle.close()
    child = child or _DbtProcess()
    fd, output_name = tempfile.mkstemp(prefix="dbt-output-", suffix=".log")
    os.close(fd)
    output_path = Path(output_name)
    try:
        returncode = child.call({"args": list(args), "env": dict(env), "cwd": str(cwd),
                                 "output": output_name, "publish": publish})
        output = output_path.read_text(errors="replace")
    except BaseException:
        # interrupted mid-call: the child would go on running dbt and
        # holding the database file
        child.process.kill()
        child.close()
        raise
    finally:
        output_path.unlink(missing_ok=True)
    if returncode is None:
        child.close()
        return -1, output + "\n(the dbt process ended without replying: it crashed)"
    with _IDLE_LOCK:
        _IDLE.append(child)
    return returncode, output


def _dbt_in_process(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> int:
    """`dbt <args>` as the `dbt` command runs it (its exit code), in this
    process; then dbt-duckdb's database is closed."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import cli

    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        cli.main(args=list(args), prog_name="dbt", standalone_mode=True)
        return 0
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        # dbt-duckdb keeps its database open for the process's next run,
        # which may name another folder's file by the same relative path;
        # its warn-once messages are the next run's to give too
        with DuckDBConnectionManager._LOCK:
            try:
                if DuckDBConnectionManager._ENV is not None:
                    DuckDBConnectionManager._ENV.close()
            finally:
                DuckDBConnectionManager._ENV = None
                DuckDBConnectionManager._LOGGED_MESSAGES.clear()


def _serve(requests: IO[str], replies: IO[str]) -> None:
    from credit_ledger.build import build_and_publish

    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # nothing but replies reaches the caller's pipe
    for line in requests:
        request = json.loads(line)
        args, env, cwd = request["args"], request["env"], Path(request["cwd"])
        with open(request["output"], "wb") as output:
            os.dup2(output.fileno(), 1)
            os.dup2(output.fileno(), 2)
            try:
                if request["publish"]:
                    returncode, outcome = build_and_publish(
                        args, env=env, cwd=cwd, call_dbt=_dbt_in_process)
                    print(outcome.message)
                else:
                    returncode = _dbt_in_process(args, env, cwd)
            except Exception:  # noqa: BLE001 - a traceback and exit 1, as a Python command's
                traceback.print_exc()
                returncode = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(quiet, 1)
                os.dup2(quiet, 2)
        replies.write(json.dumps({"returncode": returncode}) + "\n")
        replies.flush()


if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    # requests come on the stdin and replies go to the stdout this process
    # was given; dbt (and what it starts) gets /dev/null as its stdin, and
    # its writes to fds 1 and 2 go to each request's output file
    requests, replies = os.fdopen(os.dup(0)), os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    _serve(requests, replies)
