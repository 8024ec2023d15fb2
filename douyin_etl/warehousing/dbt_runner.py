"""Run dbt as a subprocess (never in-process: dbtRunner keeps the DuckDB file locked until exit).

``run_dbt(["build"], db_path=audit, vars={"as_of_date": "2026-10-30"}, run_dir=...)`` runs
``<venv>/bin/dbt build --project-dir dbt_project --profiles-dir dbt_project --target-path <run_dir>/target
--log-path <run_dir>/logs --vars '{...}'`` with ``DOUYIN_DBT_DB_PATH=<db_path>`` and
``DOUYIN_LAKE_DIR=<lake>`` (every path absolute: dbt runs in the project directory) and the buyer-key
pads (``douyin_etl.buyer_key.dbt_env``: environment only), streams dbt's output to ``<run_dir>/dbt.log``
and returns a ``DbtResult``
parsed from ``run_results.json`` (kept in ``<run_dir>``). A failing build returns ``ok=False`` with
the failing nodes and their messages; pass ``raise_on_failure=True`` to get ``DbtError`` instead.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
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


class DbtError(RuntimeError):
    def __init__(self, result: "DbtResult") -> None:
        self.result = result
        lines = "; ".join(f"{f['unique_id']}: {f['message']}" for f in result.failures[:5]) or result.error or "see log"
        super().__init__(f"dbt {' '.join(result.command)} failed (exit {result.returncode}): {lines}. Log: {result.log_path}")


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

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [{"unique_id": n.unique_id, "status": n.status, "message": n.message, "failures": n.failures}
                for n in self.nodes if n.status in _FAILED]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [{"unique_id": n.unique_id, "message": n.message, "failures": n.failures}
                for n in self.nodes if n.status in _WARNED]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes:
            out[n.status] = out.get(n.status, 0) + 1
        return out

    def summary(self) -> dict[str, Any]:
        """Small dict for the run report."""
        return {"command": " ".join(self.command), "ok": self.ok, "returncode": self.returncode,
                "elapsed": round(self.elapsed, 2), "counts": self.counts(), "failures": self.failures,
                "warnings": self.warnings, "error": self.error, "log": str(self.log_path),
                "run_results": str(self.run_results_path) if self.run_results_path else None}

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
        nodes.append(DbtNode(
            unique_id=uid, status=str(r.get("status")), resource_type=uid.split(".", 1)[0],
            execution_time=float(r.get("execution_time") or 0.0), rows_affected=rows,
            message=r.get("message"), failures=r.get("failures"),
            started_at=execute.get("started_at"), completed_at=execute.get("completed_at"),
        ))
    return nodes, data.get("elapsed_time")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_dbt(command: list[str], *, db_path: Path, vars: dict | None = None, run_dir: Path | None = None,
            full_refresh: bool = False, project_dir: Path | None = None, profiles_dir: Path | None = None,
            raise_on_failure: bool = False, lock_timeout: float = 600.0, target: str | None = None,
            extra_env: dict[str, str] | None = None) -> DbtResult:
    """Run ``dbt <command…>`` against ``db_path`` in a subprocess; see the module docstring.

    ``target`` picks a profile output (default: the profile's ``target``, DuckDB; ``s3`` with the lake's
    credentials in the environment when the lake is an ``s3://`` URL); ``extra_env`` adds
    variables for the profile (never logged: they may carry credentials).
    """
    # dbt runs in project_dir: a relative path would mean another file there ("FAILED {}")
    db_path = Path(os.path.abspath(db_path))
    project_dir = Path(os.path.abspath(project_dir or config.DBT_PROJECT_DIR))
    profiles_dir = Path(os.path.abspath(profiles_dir or project_dir))
    run_dir = Path(os.path.abspath(run_dir)) if run_dir else config.state_dir() / "dbt" / f"adhoc-{uuid.uuid4().hex[:8]}"
    # the buyer-key pads (environment only); a build without a key is a ConfigError before dbt starts
    key_env = buyer_key.dbt_env(required=bool(command) and command[0] not in _NO_BUYER_KEY)
    run_dir.mkdir(parents=True, exist_ok=True)
    target_path = run_dir / "target"
    log_path = run_dir / "dbt.log"
    lake_target, lake_env = dbt_settings(config.lake_root())  # object-store lake: the `s3` output + credentials
    target = target or lake_target
    args = [str(dbt_executable()), *command, "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir),
            "--target-path", str(target_path), "--log-path", str(run_dir / "logs")]
    if target:
        args += ["--target", target]
    if vars:
        args += ["--vars", json.dumps(vars, default=str, sort_keys=True)]
    if full_refresh and command and command[0] in _REFRESHABLE:
        args.append("--full-refresh")
    env = config.tool_env()
    env["DOUYIN_DBT_DB_PATH"] = str(db_path)
    env["DOUYIN_LAKE_DIR"] = config.lake_root()
    env.update(lake_env)
    env.update(key_env)
    env.update(extra_env or {})
    log.info("dbt %s (db %s, run dir %s)", " ".join(command), db_path, run_dir)
    started = time.monotonic()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    (target_path / "run_results.json").unlink(missing_ok=True)  # never parse a previous invocation's results
    with FileLock(db_path, timeout=lock_timeout), open(log_path, "w", encoding="utf-8") as out:
        out.write("$ " + " ".join(args) + "\n")
        out.flush()
        proc = subprocess.Popen(args, cwd=str(project_dir), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace")
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            log.debug("dbt| %s", line.rstrip())
        returncode = proc.wait()
    elapsed = time.monotonic() - started
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
    result = DbtResult(list(command), ok, returncode, elapsed, run_dir, log_path, kept, nodes, error)
    level = logging.INFO if ok else logging.ERROR
    log.log(level, "dbt %s %s in %.1f s: %s", " ".join(command), "ok" if ok else "FAILED", elapsed, result.counts())
    for f in result.failures:
        log.error("dbt node %s %s: %s", f["unique_id"], f["status"], f["message"])
    if not ok and raise_on_failure:
        raise DbtError(result)
    return result
