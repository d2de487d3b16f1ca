"""Build the Spark FIFO function: `python -m credit_ledger.spark_fifo`.

Compiles credit_ledger/java/creditledger/FifoAllocate.java (a Hive
GenericUDF, the same walk as the DuckDB kernel in fifo.py) with javac against
the jars pyspark ships, and packs it as JAR_PATH. The Spark run registers it
at run start (macros/engine_functions.sql):

    create or replace temporary function fifo_allocate
        as 'creditledger.FifoAllocate' using jar '<JAR_PATH>'

Rebuilds only when the source is newer than the jar (--force: always).
Needs a JDK 17 (javac) and pyspark; exits non-zero with one sentence when
either is missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

JAVA_DIR = Path(__file__).resolve().parent / "java"
SOURCES = sorted(JAVA_DIR.glob("creditledger/*.java"))
# git-ignored; the default of the dbt var spark_fifo_jar is this path
# relative to the project root
JAR_PATH = JAVA_DIR / "build" / "credit-ledger-fifo.jar"
CLASS_NAME = "creditledger.FifoAllocate"

# the jars the source compiles against (their versions come with pyspark)
COMPILE_JARS = ("hive-exec-*-core.jar", "hive-serde-*.jar", "hive-common-*.jar")


class BuildError(RuntimeError):
    pass


def _pyspark_jars() -> list[Path]:
    try:
        import pyspark
    except ImportError as exc:  # pragma: no cover - the spark group is optional
        raise BuildError(
            "pyspark is not installed: run `make engines` (requirements-engines.txt)"
        ) from exc
    folder = Path(pyspark.__file__).resolve().parent / "jars"
    jars = [jar for pattern in COMPILE_JARS for jar in sorted(folder.glob(pattern))]
    if len(jars) < len(COMPILE_JARS):
        raise BuildError(f"pyspark's jars folder {folder} lacks the Hive jars {COMPILE_JARS}")
    return jars


def is_stale(jar: Path = JAR_PATH) -> bool:
    return not jar.exists() or any(
        source.stat().st_mtime > jar.stat().st_mtime for source in SOURCES
    )


def build_jar(jar: Path = JAR_PATH, force: bool = False) -> Path:
    """Compile the sources into `jar` (when stale or forced); returns its path."""
    if not force and not is_stale(jar):
        return jar
    javac = shutil.which("javac")
    if javac is None:
        raise BuildError(
            "javac is not on PATH: install a JDK 17 (Debian: apt-get install "
            "openjdk-17-jdk-headless)"
        )
    classpath = ":".join(str(p) for p in _pyspark_jars())
    with tempfile.TemporaryDirectory() as scratch:
        classes = Path(scratch)
        completed = subprocess.run(
            [javac, "--release", "17", "-Xlint:all", "-Werror", "-cp", classpath,
             "-d", str(classes), *map(str, SOURCES)],
            capture_output=True, text=True,
        )
        if completed.returncode != 0:
            raise BuildError(f"javac failed:\n{completed.stdout}{completed.stderr}")
        jar.parent.mkdir(parents=True, exist_ok=True)
        partial = jar.with_suffix(".jar.tmp")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
            for path in sorted(classes.rglob("*.class")):
                archive.write(path, path.relative_to(classes).as_posix())
        partial.replace(jar)
    return jar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    try:
        jar = build_jar(force=args.force)
    except BuildError as exc:
        print(f"credit_ledger.spark_fifo: {exc}", file=sys.stderr)
        return 1
    print(jar)
    return 0


if __name__ == "__main__":
    sys.exit(main())
