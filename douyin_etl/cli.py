"""One CLI: ``python -m douyin_etl <command>`` (also installed as ``douyin-etl``).

Each command is a thin wrapper: parse arguments, call the function that owns the work, print a
short human summary. Logic lives in the modules named in each handler.

Errors a user fixes (a wrong argument or setting, a missing world or warehouse, SQL DuckDB refuses:
``douyin_etl.errors.is_usage_error``) print one line naming what to do next and exit 2, never a
traceback. ``-v``/``--verbose`` logs debug, ``-q``/``--quiet`` warnings and errors only (before or after
the command name). A closed stdout (``douyin-etl query … | head -1``) ends quietly with status 141.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from douyin_etl import config
from douyin_etl.errors import UsageError, is_usage_error, one_line

log = logging.getLogger("douyin_etl")


def _date(s: str) -> date:
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {s!r}") from None


def _positive(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {s!r}")
    return n


def _cmd_simulate(args: argparse.Namespace) -> int:
    from douyin_etl.demo import simulate

    print(
        simulate(
            Path(args.out),
            seed=args.seed,
            start=args.start,
            days=args.days,
            shops=args.shops,
            orders_per_day=args.orders_per_day,
        )
    )
    return 0


def _cmd_serve_mock(args: argparse.Namespace) -> int:
    from douyin_etl.demo import serve_mock

    serve_mock(
        Path(args.world),
        host=args.host,
        port=args.port,
        app_key=args.app_key,
        app_secret=args.app_secret,
        faults=args.faults,
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise UsageError(
            f"--end {args.end} is before --start {args.start}; give an --end on or after --start "
            f"(one day: --start {args.start} --end {args.start})"
        )
    from douyin_etl.orchestration.run import run_range

    result = run_range(args.start, args.end, full_refresh=args.full_refresh)
    print(result.summary())
    return 0 if result.ok else 1


def _cmd_check(args: argparse.Namespace) -> int:
    from douyin_etl.orchestration.full_check import run_full_check

    result = run_full_check(select=args.select, mart_gate=not args.no_mart_gate)
    print(result.summary())
    return 0 if result.ok else 1


def _cmd_demo(args: argparse.Namespace) -> int:
    from douyin_etl.demo import demo

    return demo(days=args.days, shops=args.shops, orders_per_day=args.orders_per_day, seed=args.seed)


def _cmd_query(args: argparse.Namespace) -> int:
    from douyin_etl.access.query import render, run_query

    columns, rows = run_query(args.sql)  # QueryError / WarehouseMissing: one line, exit 2 (see main)
    print(render(columns, rows, args.format))
    return 0


def _cmd_airflow(args: argparse.Namespace) -> int:
    from douyin_etl.orchestration.local_airflow import standalone

    return standalone(port=args.port)


def _cmd_cluster_env(args: argparse.Namespace) -> int:
    import os

    from douyin_etl.orchestration import cluster

    try:
        env = cluster.cluster_env(
            sql_alchemy_conn=args.db_url,
            broker_url=args.broker_url,
            result_backend=args.result_backend or cluster.result_backend_for(args.db_url),
            home=Path(args.home),
            api_host=args.api_host,
            api_port=args.api_port,
            jwt_secret=cluster.generate_secret(),
            api_secret_key=cluster.generate_secret(),
            fernet_key=cluster.generate_fernet_key(),
            parallelism=args.parallelism,
            worker_concurrency=args.worker_concurrency,
            max_active_tasks_per_dag=args.parallelism,
        )
    except ValueError as exc:
        print(f"cluster-env: {exc}", file=sys.stderr)
        return 2
    text = cluster.env_file(env)
    if args.out:
        out = Path(args.out)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(out, 0o600)
        print(f"wrote {len(env)} settings to {out} (mode 0600); give every component this file", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    import json

    from douyin_etl.access.status import collect_status, render_status

    st = collect_status(limit=args.limit)
    print(json.dumps(st, ensure_ascii=False, indent=1, default=str) if args.json else render_status(st))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from douyin_etl.access.exports import ExportError, export_finance
    from douyin_etl.access.query import WarehouseMissing

    try:
        result = export_finance(
            args.period,
            shops=args.shop,
            tables=args.tables,
            fmt=args.format,
            out_dir=Path(args.out) if args.out else None,
            chinese_headers=args.chinese_headers,
        )
    except (WarehouseMissing, ExportError, KeyError) as exc:
        print(exc.args[0] if isinstance(exc, KeyError) else exc, file=sys.stderr)
        return 2
    print(result.summary())
    return 0


def _cmd_docs(args: argparse.Namespace) -> int:
    from douyin_etl.access.docs_server import DocsError, serve_docs

    try:
        return serve_docs(args.port, generate=not args.no_generate, compile=not args.no_compile)
    except DocsError as exc:
        print(exc, file=sys.stderr)
        return 1


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from douyin_etl.dashboard.server import serve_dashboard

    return serve_dashboard(args.port)


def _verbosity_options(parser: argparse.ArgumentParser, default) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="debug logging (ours and the libraries')"
    )
    group.add_argument("-q", "--quiet", action="store_true", default=default, help="warnings and errors only")


class _SubParsers(argparse._SubParsersAction):  # noqa: SLF001 - every command also takes -v/-q
    def add_parser(self, name, **kwargs):
        parser = super().add_parser(name, **kwargs)
        _verbosity_options(parser, argparse.SUPPRESS)  # SUPPRESS: the top-level value stays when not given
        return parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="douyin-etl", description=__doc__.splitlines()[0])
    _verbosity_options(p, False)
    p.register("action", "parsers", _SubParsers)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="generate a seeded, deterministic merchant world")
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--start", type=_date, default=date(2026, 10, 1))
    s.add_argument("--days", type=_positive, default=30)
    s.add_argument("--shops", type=_positive, default=2)
    s.add_argument("--orders-per-day", type=_positive, default=300)
    s.add_argument("--out", default=str(config.world_dir()))
    s.set_defaults(func=_cmd_simulate)

    s = sub.add_parser("serve-mock", help="serve a world through the mock Doudian Open API")
    s.add_argument("--world", default=str(config.world_dir()))
    s.add_argument("--host", default=config.DEMO_API_HOST)
    s.add_argument("--port", type=int, default=config.DEMO_API_PORT)
    s.add_argument("--app-key", default=config.DEMO_APP_KEY)
    s.add_argument("--app-secret", default=config.DEMO_APP_SECRET)
    s.add_argument(
        "--faults", default="", help="e.g. 'rate_limit=0.1,server_error=0.05,slow_ms=50,duplicates=0.1,mutate=0.05'"
    )
    s.set_defaults(func=_cmd_serve_mock)

    s = sub.add_parser("run", help="run the daily pipeline for a range of business days, no scheduler")
    s.add_argument("--start", type=_date, required=True)
    s.add_argument("--end", type=_date, required=True)
    s.add_argument("--full-refresh", action="store_true")
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser(
        "check",
        help="every data test and mart check over the whole published warehouse "
        "(read-only; daily runs test only their window)",
    )
    s.add_argument("--select", help="dbt node selection of the tests to run (default: every data test)")
    s.add_argument("--no-mart-gate", action="store_true", help="run the dbt tests only")
    s.set_defaults(func=_cmd_check)

    s = sub.add_parser("demo", help="generate a world, serve it, run everything, print where to look")
    s.add_argument("--days", type=_positive, default=30)
    s.add_argument("--shops", type=_positive, default=2)
    s.add_argument("--orders-per-day", type=_positive, default=300)
    s.add_argument("--seed", type=int, default=7)
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("query", help="read-only SQL on the published warehouse")
    s.add_argument("sql")
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s.set_defaults(func=_cmd_query)

    s = sub.add_parser("airflow", help="start Airflow standalone on 127.0.0.1 with this project's DAGs")
    s.add_argument("--port", type=int, default=8080)
    s.set_defaults(func=_cmd_airflow)

    s = sub.add_parser(
        "cluster-env",
        help="settings of an Airflow cluster (PostgreSQL + CeleryExecutor/Redis) "
        "as an environment file, with freshly generated shared secrets",
    )
    s.add_argument("--db-url", required=True, help="metadata DB: postgresql+psycopg2://user:pw@host:5432/airflow")
    s.add_argument("--broker-url", required=True, help="Celery broker: redis://host:6379/0")
    s.add_argument("--result-backend", help="Celery results (default: db+postgresql://… in the metadata DB)")
    s.add_argument("--home", default="/srv/airflow", help="AIRFLOW_HOME on every machine (default /srv/airflow)")
    s.add_argument("--api-host", default="127.0.0.1", help="host the api-server listens on and workers call")
    s.add_argument("--api-port", type=int, default=8080, help="api-server port (not 8793: the workers' log server)")
    s.add_argument("--parallelism", type=int, default=4, help="task instances at once across the cluster")
    s.add_argument("--worker-concurrency", type=int, default=2, help="task processes per Celery worker (≈ cores)")
    s.add_argument("--out", help="write to this file (mode 0600) instead of stdout")
    s.set_defaults(func=_cmd_cluster_env)

    s = sub.add_parser("status", help="recent runs, the published version, freshness per mart (read-only)")
    s.add_argument("--limit", type=int, default=10, help="how many recent runs to list")
    s.add_argument("--json", action="store_true", help="print the status as JSON")
    s.set_defaults(func=_cmd_status)

    s = sub.add_parser("export", help="finance export of a period from the published warehouse (xlsx/csv/parquet)")
    s.add_argument("--period", required=True, help="YYYY-MM, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD (business days)")
    s.add_argument("--shop", action="append", help="shop id; repeatable or a comma list (default: all shops)")
    s.add_argument("--tables", action="append", help="comma list of reconciliation,settlements,fees,pnl (default: all)")
    s.add_argument("--format", choices=["xlsx", "csv", "parquet"], default="xlsx")
    s.add_argument(
        "--chinese-headers",
        action="store_true",
        help="中文 column headers, and Chinese labels for status, reason, channel (e.g. discrepancy -> 差异)",
    )
    s.add_argument("--out", help="output directory (default: <state_dir>/exports)")
    s.set_defaults(func=_cmd_export)

    s = sub.add_parser("docs", help="generate dbt docs and serve them with the run reports on 127.0.0.1")
    s.add_argument("--port", type=int, default=8081)
    s.add_argument("--no-generate", action="store_true", help="serve the last generated dbt docs")
    s.add_argument("--no-compile", action="store_true", help="dbt docs generate --no-compile (faster)")
    s.set_defaults(func=_cmd_docs)

    s = sub.add_parser("dashboard", help="read-only operator dashboard over the published marts on 127.0.0.1")
    s.add_argument("--port", type=int, default=8501)
    s.set_defaults(func=_cmd_dashboard)
    return p


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


PROJECT_LOGGERS = ("douyin_etl", "douyin_sim")  # the product and the simulated platform (the demo's commands)


@contextlib.contextmanager
def cli_logging(verbose: bool = False, quiet: bool = False) -> Iterator[int]:
    """Log to stderr at DEBUG (``-v``), WARNING (``-q``) or INFO while the command runs; yields the level.

    The project's loggers (``douyin_etl.*``, ``douyin_sim.*``) get their own stderr handler and an
    explicit level, so a library that reconfigures the root logger during the command (importing Airflow
    does: INFO, to stdout) changes neither their level nor where they go. The root logger (libraries)
    follows ``-v`` and ``-q`` too, and ``-q`` quietens Airflow (``AIRFLOW__LOGGING__LOGGING_LEVEL``, unless
    set). All of it is undone afterwards (``main`` is also called in-process by tests).
    """
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    set_airflow_level = quiet and "AIRFLOW__LOGGING__LOGGING_LEVEL" not in os.environ
    if set_airflow_level:
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    formatter = logging.Formatter(LOG_FORMAT)
    ours, root = [logging.getLogger(name) for name in PROJECT_LOGGERS], logging.getLogger()
    saved = [(lg.level, lg.propagate, lg.disabled) for lg in ours]
    saved_root_level = root.level
    handler = logging.StreamHandler()  # sys.stderr as of each record
    handler.setFormatter(formatter)
    for lg in ours:
        lg.addHandler(handler)
        lg.setLevel(level)
        lg.propagate, lg.disabled = False, False
    root_handler = None
    if not root.handlers:  # libraries' records: to stderr as well (as logging.basicConfig would)
        root_handler = logging.StreamHandler()
        root_handler.setFormatter(formatter)
        root.addHandler(root_handler)
    root.setLevel(level)
    try:
        yield level
    finally:
        for lg, (lg_level, propagate, disabled) in zip(ours, saved):
            lg.removeHandler(handler)
            lg.setLevel(lg_level)
            lg.propagate, lg.disabled = propagate, disabled
        if root_handler is not None:
            root.removeHandler(root_handler)
        root.setLevel(saved_root_level)
        if set_airflow_level:
            os.environ.pop("AIRFLOW__LOGGING__LOGGING_LEVEL", None)


def _stdout_closed() -> int:
    """stdout's reader went away (``| head``): stop writing, no traceback, exit like SIGPIPE would."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush then goes nowhere
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 141


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with cli_logging(args.verbose, args.quiet):
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _stdout_closed()
    except Exception as exc:
        if not is_usage_error(exc):
            raise
        print(f"douyin-etl {args.command}: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
