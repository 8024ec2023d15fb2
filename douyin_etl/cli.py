"""One CLI: ``python -m douyin_etl <command>`` (also installed as ``douyin-etl``).

Every command and option carries its help (what it does, its default, an example per command):
``tests/cli/test_help.py`` walks the parser and fails on an option without help.

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


def _query_sql(args: argparse.Namespace) -> str:
    """The SQL of ``query``: the argument, ``-f FILE`` or standard input (``-`` or neither given)."""
    if args.sql is not None and args.file is not None:
        raise UsageError("give the SQL either as an argument or with -f FILE, not both")
    if args.file is not None and str(args.file) != "-":
        try:
            sql = Path(args.file).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"-f {args.file}: no such file; give the path of a .sql file") from None
        except UnicodeDecodeError:
            raise UsageError(f"-f {args.file}: not UTF-8 text; save the SQL file as UTF-8") from None
    elif args.sql == "-" or str(args.file) == "-" or (args.sql is None and not sys.stdin.isatty()):
        sql = sys.stdin.read()
    elif args.sql is None:
        raise UsageError(
            'no SQL: give it as an argument (douyin-etl query "select 1"), from a file (-f report.sql) '
            "or on standard input (douyin-etl query < report.sql)"
        )
    else:
        sql = args.sql
    if not sql.strip():
        raise UsageError('the SQL is empty; give a statement, e.g. douyin-etl query "SHOW ALL TABLES"')
    return sql


def _cmd_query(args: argparse.Namespace) -> int:
    import shutil

    from douyin_etl.access.query import write_query

    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    out = write_query(  # QueryError / WarehouseMissing: one line, exit 2 (see main)
        _query_sql(args), args.format, output=args.output, max_rows=args.max_rows, width=width
    )
    if out.path is not None:
        print(
            f"wrote {out.rows:,} rows to {out.path}" if out.rows is not None else f"wrote {out.path}", file=sys.stderr
        )
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


class HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped line by line, indented lines (examples) kept as written; an option's default
    after its help, unless the help already says it, the option is a flag or has no default."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        return "\n".join(
            indent + line
            if not line.strip() or line.startswith("  ")
            else textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
            for line in text.splitlines()
        )

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "default" in text
            or action.default in (None, False, argparse.SUPPRESS)
            or action.nargs == 0
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def _version() -> str:
    """``douyin-etl X (Python …, Airflow …, dbt-core …, DuckDB …)``, read from the installed packages."""
    from importlib.metadata import PackageNotFoundError, version

    from douyin_etl import __version__

    parts = [f"Python {sys.version.split()[0]}"]
    for dist in ("apache-airflow", "dbt-core", "dbt-duckdb", "duckdb", "great-expectations"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} not installed")
    return f"douyin-etl {__version__} ({', '.join(parts)})"


class _SubParsers(argparse._SubParsersAction):  # noqa: SLF001 - every command also takes -v/-q
    def add_parser(self, name, **kwargs):
        examples = kwargs.pop("examples", ())
        if examples:
            kwargs["epilog"] = "examples:\n" + "\n".join(f"  {e}" for e in examples)
        kwargs.setdefault("description", kwargs.get("help"))
        kwargs.setdefault("formatter_class", HelpFormatter)
        parser = super().add_parser(name, **kwargs)
        _verbosity_options(parser, argparse.SUPPRESS)  # SUPPRESS: the top-level value stays when not given
        return parser


DESCRIPTION = """\
douyin-etl: batch ETL for Douyin (抖店) merchants, from the Open API and file drops to a published
DuckDB warehouse. Every command prints its own help: douyin-etl COMMAND --help.

Settings come from environment variables (DOUYIN_*, Airflow connections); the demo sets its own.
Exit status: 0 done, 1 the run or check failed (see its report), 2 a wrong argument or setting
(one line saying what to do)."""

FIRST_STEPS = """\
first steps:
  douyin-etl demo                         generate a 30-day world and run everything through Airflow
  douyin-etl query "SHOW ALL TABLES"      what the warehouse holds
  douyin-etl status                       recent runs, the published version, freshness per mart
  douyin-etl dashboard                    the operator dashboard on http://127.0.0.1:8501/"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="douyin-etl", description=DESCRIPTION, epilog=FIRST_STEPS, formatter_class=HelpFormatter
    )
    _verbosity_options(p, False)
    p.add_argument("--version", action="version", version=_version(), help="print the versions and exit")
    p.register("action", "parsers", _SubParsers)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    s = sub.add_parser(
        "simulate",
        help="generate a seeded, deterministic merchant world (the demo's platform and file drops)",
        examples=["douyin-etl simulate --days 7 --shops 1 --orders-per-day 50 --out /tmp/world"],
    )
    s.add_argument("--seed", type=int, default=7, help="random seed: the same seed gives the same world")
    s.add_argument("--start", type=_date, default=date(2026, 10, 1), help="first business day, YYYY-MM-DD")
    s.add_argument("--days", type=_positive, default=30, help="business days to generate")
    s.add_argument("--shops", type=_positive, default=2, help="number of shops")
    s.add_argument("--orders-per-day", type=_positive, default=300, help="shop orders per shop and day (about)")
    s.add_argument(
        "--out",
        default=str(config.world_dir()),
        help="world directory (default: $DOUYIN_WORLD_DIR, else <state dir>/world)",
    )
    s.set_defaults(func=_cmd_simulate)

    s = sub.add_parser(
        "serve-mock",
        help="serve a world through the mock Doudian Open API (loopback, real signing and paging)",
        examples=[
            "douyin-etl serve-mock --port 18080",
            "douyin-etl serve-mock --faults rate_limit=0.1,server_error=0.05,slow_ms=50",
        ],
    )
    s.add_argument(
        "--world", default=str(config.world_dir()), help="world to serve (default: the simulate command's --out)"
    )
    s.add_argument("--host", default=config.DEMO_API_HOST, help="address to listen on")
    s.add_argument("--port", type=int, default=config.DEMO_API_PORT, help="port to listen on (0: any free port)")
    s.add_argument("--app-key", default=config.DEMO_APP_KEY, help="app key the mock accepts")
    s.add_argument("--app-secret", default=config.DEMO_APP_SECRET, help="app secret requests are signed with")
    s.add_argument(
        "--faults",
        default="",
        help="faults to inject, a comma list of name=value: rate_limit, server_error, duplicates, mutate "
        "(probabilities 0..1), slow_ms (default: none)",
    )
    s.set_defaults(func=_cmd_serve_mock)

    s = sub.add_parser(
        "run",
        help="run the whole pipeline for a range of business days in this process (no scheduler)",
        description="Extract, landing gate, dbt build into an audit copy, mart gate, publish and report over "
        "business days START..END (Asia/Shanghai, both included). Needs the settings of docs/deploy.md.",
        examples=[
            "douyin-etl run --start 2026-10-01 --end 2026-10-31",
            "douyin-etl run --start 2026-10-05 --end 2026-10-05 --full-refresh",
        ],
    )
    s.add_argument("--start", type=_date, required=True, help="first business day, YYYY-MM-DD (required)")
    s.add_argument("--end", type=_date, required=True, help="last business day, YYYY-MM-DD, included (required)")
    s.add_argument("--full-refresh", action="store_true", help="rebuild every mart from the whole lake")
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser(
        "check",
        help="every data test and mart check over the whole published warehouse "
        "(read-only; daily runs test only their window)",
        examples=["douyin-etl check", "douyin-etl check --select marts.finance --no-mart-gate"],
    )
    s.add_argument("--select", help="dbt node selection of the tests to run (default: every data test)")
    s.add_argument("--no-mart-gate", action="store_true", help="run the dbt tests only, not the mart gate")
    s.set_defaults(func=_cmd_check)

    s = sub.add_parser(
        "demo",
        help="generate a world, serve it, run everything through Airflow, print where to look",
        examples=["douyin-etl demo", "douyin-etl demo --days 7 --orders-per-day 100"],
    )
    s.add_argument("--days", type=_positive, default=30, help="business days from 2026-10-01")
    s.add_argument("--shops", type=_positive, default=2, help="number of shops")
    s.add_argument("--orders-per-day", type=_positive, default=300, help="shop orders per shop and day (about)")
    s.add_argument("--seed", type=int, default=7, help="random seed of the world")
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser(
        "query",
        help="read-only SQL on the published warehouse, as a table, CSV, JSON or Parquet",
        description="Read-only SQL (DuckDB dialect) on the published warehouse: the marts sales.*, finance.*, "
        "inventory.* and performance.* (docs/analyst-guide.md). No file access, no writes.\n"
        "The SQL comes from the argument, from -f FILE, or from standard input.",
        examples=[
            'douyin-etl query "select shop_id, date_day, gmv_yuan from sales.sales_daily order by 2 desc limit 5"',
            "douyin-etl query -f monthly.sql --format csv --output monthly.csv",
            "echo 'SHOW ALL TABLES' | douyin-etl query",
            'douyin-etl query "from finance.fin_pnl_daily" --format parquet --output pnl.parquet',
        ],
    )
    s.add_argument("sql", nargs="?", help="the SQL; '-' or nothing reads standard input")
    s.add_argument("-f", "--file", type=Path, help="read the SQL from this file ('-': standard input)")
    s.add_argument(
        "--format",
        choices=["table", "csv", "json", "parquet"],
        default="table",
        help="table: aligned for reading (Chinese text included); csv/json: every row; "
        "parquet: typed columns, needs --output",
    )
    s.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to this file instead of standard output")
    s.add_argument(
        "--max-rows", type=_positive, default=100, help="rows --format table shows (csv/json/parquet write all)"
    )
    s.set_defaults(func=_cmd_query)

    s = sub.add_parser(
        "airflow",
        help="start Airflow (scheduler, dag-processor, triggerer, UI) on 127.0.0.1 with this project's DAGs",
        description="A local Airflow on 127.0.0.1 (SQLite, LocalExecutor, UI in Asia/Shanghai). The login is "
        "printed at every start: user admin, password from $DOUYIN_AIRFLOW_PASSWORD when set, else a random "
        "one kept in <state dir>/airflow. Ctrl-C stops every component.",
        examples=["douyin-etl airflow", "DOUYIN_AIRFLOW_PASSWORD=choose-one douyin-etl airflow --port 8090"],
    )
    s.add_argument("--port", type=int, default=8080, help="port of the UI and API")
    s.set_defaults(func=_cmd_airflow)

    s = sub.add_parser(
        "cluster-env",
        help="settings of an Airflow cluster (PostgreSQL + CeleryExecutor/Redis) "
        "as an environment file, with freshly generated shared secrets",
        examples=[
            "douyin-etl cluster-env --db-url postgresql+psycopg2://airflow:pw@db:5432/airflow "
            "--broker-url redis://redis:6379/0 --out airflow.env"
        ],
    )
    s.add_argument(
        "--db-url", required=True, help="metadata DB, e.g. postgresql+psycopg2://user:pw@host:5432/airflow (required)"
    )
    s.add_argument("--broker-url", required=True, help="Celery broker, e.g. redis://host:6379/0 (required)")
    s.add_argument("--result-backend", help="Celery results (default: db+postgresql://… in the metadata DB)")
    s.add_argument("--home", default="/srv/airflow", help="AIRFLOW_HOME on every machine")
    s.add_argument("--api-host", default="127.0.0.1", help="host the api-server listens on and workers call")
    s.add_argument("--api-port", type=int, default=8080, help="api-server port (not 8793: the workers' log server)")
    s.add_argument("--parallelism", type=int, default=4, help="task instances at once across the cluster")
    s.add_argument("--worker-concurrency", type=int, default=2, help="task processes per Celery worker (≈ cores)")
    s.add_argument("--out", help="write to this file (mode 0600) instead of standard output")
    s.set_defaults(func=_cmd_cluster_env)

    s = sub.add_parser(
        "status",
        help="recent runs, the published version, freshness per mart (read-only)",
        examples=["douyin-etl status", "douyin-etl status --limit 3 --json"],
    )
    s.add_argument("--limit", type=int, default=10, help="how many recent runs to list")
    s.add_argument("--json", action="store_true", help="print the status as JSON")
    s.set_defaults(func=_cmd_status)

    s = sub.add_parser(
        "export",
        help="finance export of a period from the published warehouse (xlsx/csv/parquet)",
        examples=[
            "douyin-etl export --period 2026-10",
            "douyin-etl export --period 2026-10-01..2026-10-15 --shop 1000001 --tables reconciliation,pnl "
            "--format csv --chinese-headers",
        ],
    )
    s.add_argument(
        "--period", required=True, help="YYYY-MM, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD (business days; required)"
    )
    s.add_argument("--shop", action="append", help="shop id; repeatable or a comma list (default: all shops)")
    s.add_argument("--tables", action="append", help="comma list of reconciliation,settlements,fees,pnl (default: all)")
    s.add_argument("--format", choices=["xlsx", "csv", "parquet"], default="xlsx", help="file format")
    s.add_argument(
        "--chinese-headers",
        action="store_true",
        help="中文 column headers, and Chinese labels for status, reason, channel (e.g. discrepancy -> 差异)",
    )
    s.add_argument("--out", help="output directory (default: <state dir>/exports)")
    s.set_defaults(func=_cmd_export)

    s = sub.add_parser(
        "docs",
        help="generate dbt docs and serve them with the run reports on 127.0.0.1",
        examples=["douyin-etl docs", "douyin-etl docs --no-generate --port 8091"],
    )
    s.add_argument("--port", type=int, default=8081, help="port to serve on")
    s.add_argument("--no-generate", action="store_true", help="serve the last generated dbt docs")
    s.add_argument("--no-compile", action="store_true", help="dbt docs generate --no-compile (faster)")
    s.set_defaults(func=_cmd_docs)

    s = sub.add_parser(
        "dashboard",
        help="read-only operator dashboard over the published marts on 127.0.0.1",
        examples=["douyin-etl dashboard", "douyin-etl dashboard --port 8502"],
    )
    s.add_argument("--port", type=int, default=8501, help="port to serve on")
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
        # the demo prints its own progress: the pipeline's log lines only with -v
        quiet = args.quiet or (args.command == "demo" and not args.verbose)
        with cli_logging(args.verbose, quiet):
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
