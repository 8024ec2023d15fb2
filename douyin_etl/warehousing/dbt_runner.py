"""Run dbt as a subprocess (never in-process: dbtRunner keeps the DuckDB file locked until exit).

``run_dbt(["build"], db_path=audit, run_params={"as_of_date": "2026-10-30"}, run_dir=...)`` runs
``<venv>/bin/dbt build --project-dir dbt_project --profiles-dir dbt_project --target-path <run_dir>/target
--log-path <run_dir>/logs`` in the database file's directory with ``DOUYIN_DBT_DB_PATH=<file name>`` and
``DOUYIN_LAKE_DIR=<lake>`` (every other path absolute) and the buyer-key pads (``douyin_etl.buyer_key.dbt_env``:
environment only), streams dbt's output to ``<run_dir>/dbt.log`` and returns a ``DbtResult`` parsed from
``run_results.json`` (kept in ``<run_dir>``). A failing build returns ``ok=False`` with the failing nodes and
their messages; pass ``raise_on_failure=True`` to get ``DbtError`` instead.

The project is parsed once, not every run (dbt's partial parsing):

- **Per-run values are run parameters, not ``--vars``.** dbt throws its saved parse away whenever the
  ``--vars`` change, so the run's dates (``RUN_PARAMS``: ``as_of_date``, ``window_start``, ``tests_since``) reach dbt as
  environment variables ``DOUYIN_RUN_<NAME>``, which the macro ``run_param()``
  (``dbt_project/macros/run_params.sql``) reads only when dbt executes, never while it parses. ``vars``
  still become ``--vars`` (a value that stays the same between runs does not re-parse).
- **The saved parse outlives the run.** dbt keeps it in ``<target-path>/partial_parse.msgpack``; the run's
  target path is its own (``run_results.json``, ``manifest.json``, compiled SQL stay per run), so the runner
  copies the saved parse of the same project, profiles, target and database file name from ``parse_cache_path()``
  (``<state>/dbt/parse/<key>/``) into it before dbt starts, and the one dbt writes back afterwards
  (atomically: concurrent runs each leave a valid file). dbt itself decides whether the saved parse still
  holds (same dbt version, ``--vars``, profile keys, target, ``dbt_project.yml``; changed files are
  re-parsed one by one); ``DbtResult.parse`` says what it did.
- **The profile is the same for every run.** dbt's check covers the profile's connection values, the
  DuckDB ``path`` included, and every run builds its own audit file (``runs/<run_id>/audit.duckdb``). So dbt
  runs in that file's directory and the profile's ``path`` is the file name alone (the DuckDB catalog,
  named after the file, stays ``audit``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from douyin_etl import buyer_key, config
from douyin_etl.lake_credentials import dbt_settings
from douyin_etl.warehousing.lock import FileLock

log = logging.getLogger(__name__)

_FAILED = {"error", "fail", "runtime error"}
_WARNED = {"warn"}
_REFRESHABLE = {"build", "run", "seed"}
_NO_BUYER_KEY = {"docs", "compile", "parse", "ls", "list", "debug", "deps", "clean", "source"}  # compute no buyer_key
# Per-run values of a build (YYYY-MM-DD dates) -> the environment variable the macro run_param() reads.
# tests_since: data tests of models with meta window_column read only rows from that day on
# (dbt_project/macros/test_window.sql); not given = every test reads the whole table.
RUN_PARAMS = {
    "as_of_date": "DOUYIN_RUN_AS_OF_DATE",
    "window_start": "DOUYIN_RUN_WINDOW_START",
    "tests_since": "DOUYIN_RUN_TESTS_SINCE",
}
RUN_PARAM_PREFIX = "DOUYIN_RUN_"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DbtError(RuntimeError):
    def __init__(self, result: DbtResult) -> None:
        self.result = result
        lines = "; ".join(f"{f['unique_id']}: {f['message']}" for f in result.failures[:5]) or result.error or "see log"
        super().__init__(
            f"dbt {' '.join(result.command)} failed (exit {result.returncode}): {lines}. Log: {result.log_path}"
        )


@dataclass
class DbtNode:
    unique_id: str
    status: str
    resource_type: str
    execution_time: float
    rows_affected: int | None
    message: str | None
    failures: int | None
    started_at: str | None = None
    completed_at: str | None = None


@dataclass
class DbtResult:
    command: list[str]
    ok: bool
    returncode: int
    elapsed: float
    run_dir: Path
    log_path: Path
    run_results_path: Path | None
    nodes: list[DbtNode] = field(default_factory=list)
    error: str | None = None  # when dbt failed before producing run_results.json (parse/profile errors)
    # how dbt read the project: "reused" (saved parse, nothing changed), "partial" (changed files
    # re-parsed), "full: <dbt's reason>", or None when dbt's log does not say
    parse: str | None = None

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [
            {"unique_id": n.unique_id, "status": n.status, "message": n.message, "failures": n.failures}
            for n in self.nodes
            if n.status in _FAILED
        ]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [
            {"unique_id": n.unique_id, "message": n.message, "failures": n.failures}
            for n in self.nodes
            if n.status in _WARNED
        ]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes:
            out[n.status] = out.get(n.status, 0) + 1
        return out

    def summary(self) -> dict[str, Any]:
        """Small dict for the run report."""
        return {
            "command": " ".join(self.command),
            "ok": self.ok,
            "returncode": self.returncode,
            "elapsed": round(self.elapsed, 2),
            "counts": self.counts(),
            "failures": self.failures,
            "warnings": self.warnings,
            "error": self.error,
            "log": str(self.log_path),
            "parse": self.parse,
            "run_results": str(self.run_results_path) if self.run_results_path else None,
        }

    def to_dict(self) -> dict[str, Any]:
        d = self.summary()
        d["nodes"] = [asdict(n) for n in self.nodes]
        return d


def dbt_executable() -> Path:
    exe = Path(sys.executable).parent / "dbt"
    if not exe.exists():
        found = shutil.which("dbt")
        if not found:
            raise FileNotFoundError(f"no dbt executable beside {sys.executable} nor on PATH; install requirements.lock")
        return Path(found)
    return exe


def _parse_run_results(path: Path) -> tuple[list[DbtNode], float | None]:
    data = json.loads(path.read_text())
    nodes: list[DbtNode] = []
    for r in data.get("results", []):
        timing = {t.get("name"): t for t in r.get("timing") or []}
        execute = timing.get("execute") or {}
        rows = (r.get("adapter_response") or {}).get("rows_affected")
        uid = r.get("unique_id", "")
        nodes.append(
            DbtNode(
                unique_id=uid,
                status=str(r.get("status")),
                resource_type=uid.split(".", 1)[0],
                execution_time=float(r.get("execution_time") or 0.0),
                rows_affected=rows,
                message=r.get("message"),
                failures=r.get("failures"),
                started_at=execute.get("started_at"),
                completed_at=execute.get("completed_at"),
            )
        )
    return nodes, data.get("elapsed_time")


def run_param_env(run_params: dict[str, Any] | None) -> dict[str, str]:
    """``{"as_of_date": date(2026, 10, 30)}`` -> ``{"DOUYIN_RUN_AS_OF_DATE": "2026-10-30"}``; None values are
    left out. Unknown names or values that are not dates are a ``ValueError`` naming them."""
    env: dict[str, str] = {}
    for name, value in (run_params or {}).items():
        if name not in RUN_PARAMS:
            raise ValueError(
                f"unknown dbt run parameter {name!r}; known: {', '.join(RUN_PARAMS)} (other values go to dbt as vars=)"
            )
        if value is None:
            continue
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
        if not _DATE.match(text):
            raise ValueError(f"dbt run parameter {name} must be a date YYYY-MM-DD; got {value!r}")
        env[RUN_PARAMS[name]] = text
    return env


def project_var(name: str, project_dir: Path | None = None) -> Any:
    """The value of ``vars: <name>`` in ``dbt_project.yml`` (a ``KeyError`` naming the file when absent)."""
    import yaml

    path = Path(project_dir or config.DBT_PROJECT_DIR) / "dbt_project.yml"
    defined = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars") or {}
    if name not in defined:
        raise KeyError(f"{path} defines no var {name!r}; add it under vars:")
    return defined[name]


def tests_since(window_start: date) -> date:
    """The first day of a run's rebuilt window: ``lookback_days`` (dbt var) before ``window_start``, as the
    dbt macro ``incremental_cutoff()`` computes it. Data tests of big models (run parameter ``tests_since``)
    and the mart gate's windowed checks read rows from this day on."""
    return window_start - timedelta(days=int(project_var("lookback_days")))


def parse_cache_path(
    project_dir: Path, profiles_dir: Path, target: str | None, read_only: bool = False, db_name: str = "audit.duckdb"
) -> Path:
    """Where the saved parse of one (project, profiles, target, access mode, database file name) lives between
    runs: ``<state>/dbt/parse/<key>/partial_parse.msgpack``. Each profile keeps its own, since sharing would
    make each re-parse the other's: a read-only run (``douyin-etl check`` over the published file), a build
    into a file of another name (the profile's ``path``; a run's audit copy is always ``audit.duckdb``)."""
    mode = "|read-only" if read_only else ""
    name = "" if db_name == "audit.duckdb" else f"|{db_name}"  # the audit copy's key stays what it was
    key = hashlib.sha256(f"{project_dir}|{profiles_dir}|{target or ''}{mode}{name}".encode()).hexdigest()[:16]
    return config.state_dir() / "dbt" / "parse" / key / PARTIAL_PARSE_FILE


def _seed_parse(cache: Path, target_path: Path) -> tuple[int, int] | None:
    """Copy the saved parse into the run's target path; its (mtime_ns, size) there, or None."""
    dest = target_path / PARTIAL_PARSE_FILE
    dest.unlink(missing_ok=True)
    if not cache.exists():
        return None
    try:
        shutil.copy2(cache, dest)
        st = dest.stat()
    except OSError as exc:  # a cache that cannot be read only costs a full parse
        log.warning("cannot reuse dbt's saved parse %s: %s", cache, exc)
        return None
    return st.st_mtime_ns, st.st_size


def _keep_parse(target_path: Path, cache: Path, seeded: tuple[int, int] | None) -> None:
    """Save the parse dbt wrote in this run (when it wrote one) for the next run: temp file + rename."""
    produced = target_path / PARTIAL_PARSE_FILE
    try:
        st = produced.stat()
    except FileNotFoundError:
        return
    if seeded == (st.st_mtime_ns, st.st_size):
        return  # dbt reused the saved parse unchanged
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        shutil.copyfile(produced, tmp)
        os.replace(tmp, cache)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.warning("cannot save dbt's parse to %s (the next run parses in full): %s", cache, exc)


_REUSED = re.compile(r"Partial parsing enabled, no changes found")
_PARTIAL = re.compile(r"Partial parsing enabled: (\d+) files deleted, (\d+) files added, (\d+) files changed")
_FULL = re.compile(r"Unable to do partial parsing because (.*?)\s*$")


def _parse_mode(dbt_file_log: Path) -> str | None:
    """What dbt's debug log (``<run_dir>/logs/dbt.log``) says about parsing; see ``DbtResult.parse``."""
    try:
        text = dbt_file_log.read_text(errors="replace")
    except OSError:
        return None
    mode = None
    for line in text.splitlines():
        if _REUSED.search(line):
            return "reused"
        if (m := _FULL.search(line)) and mode is None:
            mode = f"full: {m.group(1)}"
        elif (m := _PARTIAL.search(line)) and mode is None:
            mode = "partial" if any(int(n) for n in m.groups()) else "reused"
        elif "Found " in line and " models" in line:
            break  # parsing is over
    return mode


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_dbt(
    command: list[str],
    *,
    db_path: Path,
    vars: dict | None = None,
    run_dir: Path | None = None,
    full_refresh: bool = False,
    project_dir: Path | None = None,
    profiles_dir: Path | None = None,
    raise_on_failure: bool = False,
    lock_timeout: float = 600.0,
    target: str | None = None,
    extra_env: dict[str, str] | None = None,
    run_params: dict[str, Any] | None = None,
    read_only: bool = False,
) -> DbtResult:
    """Run ``dbt <command…>`` against ``db_path`` in a subprocess; see the module docstring.

    ``run_params`` (``RUN_PARAMS``: the run's dates) reach the models without re-parsing the project;
    ``vars`` are dbt ``--vars`` (keep them the same from run to run, or dbt parses everything again).

    ``read_only`` opens the database file read-only (profile ``access_mode`` from
    ``DOUYIN_DBT_ACCESS_MODE``) and takes no file lock: for ``dbt test`` over the published file, which
    is only ever replaced whole (a publish during the run leaves dbt reading the version it opened).

    ``target`` picks a profile output (default: the profile's ``target``, DuckDB; ``s3`` with the lake's
    credentials in the environment when the lake is an ``s3://`` URL); ``extra_env`` adds
    variables for the profile (never logged: they may carry credentials).
    """
    # dbt runs in the database's directory, the profile names the file only (module docstring)
    db_path = Path(os.path.abspath(db_path))
    project_dir = Path(os.path.abspath(project_dir or config.DBT_PROJECT_DIR))
    profiles_dir = Path(os.path.abspath(profiles_dir or project_dir))
    run_dir = (
        Path(os.path.abspath(run_dir)) if run_dir else config.state_dir() / "dbt" / f"adhoc-{uuid.uuid4().hex[:8]}"
    )
    # the buyer-key pads (environment only); a build without a key is a ConfigError before dbt starts
    key_env = buyer_key.dbt_env(required=bool(command) and command[0] not in _NO_BUYER_KEY)
    param_env = run_param_env(run_params)
    run_dir.mkdir(parents=True, exist_ok=True)
    target_path = run_dir / "target"
    log_path = run_dir / "dbt.log"
    lake_target, lake_env = dbt_settings(config.lake_root())  # object-store lake: the `s3` output + credentials
    target = target or lake_target
    args = [
        str(dbt_executable()),
        *command,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles_dir),
        "--target-path",
        str(target_path),
        "--log-path",
        str(run_dir / "logs"),
    ]
    if target:
        args += ["--target", target]
    if vars:
        args += ["--vars", json.dumps(vars, default=str, sort_keys=True)]
    if full_refresh and command and command[0] in _REFRESHABLE:
        args.append("--full-refresh")
    env = {k: v for k, v in config.tool_env().items() if not k.startswith(RUN_PARAM_PREFIX)}  # only this run's
    env.update(param_env)
    env["DOUYIN_DBT_DB_PATH"] = db_path.name
    env["DOUYIN_DBT_ACCESS_MODE"] = "read_only" if read_only else "automatic"
    env["DOUYIN_LAKE_DIR"] = config.lake_root()
    env.update(lake_env)
    env.update(key_env)
    env.update(extra_env or {})
    log.info("dbt %s (db %s, run dir %s, run parameters %s)", " ".join(command), db_path, run_dir, param_env or "none")
    started = time.monotonic()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    target_path.mkdir(parents=True, exist_ok=True)
    (target_path / "run_results.json").unlink(missing_ok=True)  # never parse a previous invocation's results
    dbt_file_log = run_dir / "logs" / "dbt.log"
    dbt_file_log.unlink(missing_ok=True)  # dbt appends to it: the parse line read below must be this run's
    parse_cache = parse_cache_path(project_dir, profiles_dir, target, read_only, db_path.name)
    seeded = _seed_parse(parse_cache, target_path)
    lock = contextlib.nullcontext() if read_only else FileLock(db_path, timeout=lock_timeout)
    with lock, open(log_path, "w", encoding="utf-8") as out:
        out.write("$ " + " ".join(args) + "\n")
        out.flush()
        proc = subprocess.Popen(
            args,
            cwd=str(db_path.parent),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            log.debug("dbt| %s", line.rstrip())
        returncode = proc.wait()
    elapsed = time.monotonic() - started
    _keep_parse(target_path, parse_cache, seeded)
    produced = target_path / "run_results.json"
    kept: Path | None = None
    nodes: list[DbtNode] = []
    if produced.exists():
        kept = run_dir / "run_results.json"
        shutil.copyfile(produced, kept)
        nodes, _ = _parse_run_results(kept)
    failed = [n for n in nodes if n.status in _FAILED]
    ok = returncode == 0 and not failed
    error = None
    if not ok and not failed:
        error = f"dbt exited {returncode} without failing nodes; last lines of {log_path}:\n{_tail(log_path)}"
    result = DbtResult(
        list(command), ok, returncode, elapsed, run_dir, log_path, kept, nodes, error, parse=_parse_mode(dbt_file_log)
    )
    level = logging.INFO if ok else logging.ERROR
    log.log(
        level,
        "dbt %s %s in %.1f s (parse: %s): %s",
        " ".join(command),
        "ok" if ok else "FAILED",
        elapsed,
        result.parse,
        result.counts(),
    )
    for f in result.failures:
        log.error("dbt node %s %s: %s", f["unique_id"], f["status"], f["message"])
    if not ok and raise_on_failure:
        raise DbtError(result)
    return result
