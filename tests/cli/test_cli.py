"""The CLI's errors and logging (issue 12, point 9): one line and exit 2 for what a user fixes, no
traceback; ``-v`` and ``--quiet`` change what is logged, before or after the command name."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from douyin_etl import cli, config
from douyin_etl.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _one_line_error(capsys, command: str) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith(f"douyin-etl {command}: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_end_before_start_is_a_usage_error(capsys):
    assert main(["run", "--start", "2026-10-05", "--end", "2026-10-01"]) == 2
    err = _one_line_error(capsys, "run")
    assert "--end 2026-10-01 is before --start 2026-10-05" in err


@pytest.mark.parametrize(
    "spec, says",
    [
        ("bogus", "bad fault 'bogus'"),
        ("rate_limit=lots", "needs a number"),
        ("duplicates=2", "probability"),
        ("slow_ms=-5", "≥ 0"),
    ],
)
def test_a_bad_faults_spec_is_a_usage_error(tmp_path, capsys, spec, says):
    assert main(["serve-mock", "--world", str(tmp_path), "--port", "0", "--faults", spec]) == 2
    err = _one_line_error(capsys, "serve-mock")
    assert says in err and "--faults" in err


def test_a_missing_world_is_a_usage_error(tmp_path, capsys):
    missing = tmp_path / "nonexistent"
    assert main(["serve-mock", "--world", str(missing), "--port", "0"]) == 2
    err = _one_line_error(capsys, "serve-mock")
    assert str(missing) in err and "douyin-etl simulate --out" in err


def test_demo_regenerates_a_partial_world(tmp_path):
    """A world.json whose platform/ is gone is not reused (the mock would fail on it)."""
    from douyin_etl.demo import world_matches

    world = tmp_path / "world"
    world.mkdir()
    (world / "world.json").write_text(
        json.dumps({"seed": 7, "start": "2026-10-01", "days": 1, "shops": [{"shop_id": 1}], "orders_per_day": 2})
    )
    assert world_matches(world, 7, date(2026, 10, 1), 1, 1, 2) is False
    (world / "platform").mkdir()
    (world / "drops").mkdir()
    assert world_matches(world, 7, date(2026, 10, 1), 1, 1, 2) is True


def test_a_configuration_error_is_one_line(monkeypatch, capsys):
    """A missing or malformed setting (config.ConfigError, a UsageError) is one line naming it, exit 2."""
    monkeypatch.setenv("DOUYIN_TRACKING", "sometimes")
    monkeypatch.setattr(cli, "_cmd_status", lambda args: config.doudian_tracking())
    assert main(["status"]) == 2
    err = _one_line_error(capsys, "status")
    assert "DOUYIN_TRACKING" in err


def test_other_errors_keep_their_traceback(monkeypatch):
    def broken(args):
        raise ValueError("a bug, not a usage error")

    monkeypatch.setattr(cli, "_cmd_status", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["status"])


def _log_everything(args) -> int:
    logging.getLogger("douyin_etl.test").debug("ours-debug")
    logging.getLogger("douyin_etl.test").info("ours-info")
    logging.getLogger("douyin_etl.test").warning("ours-warning")
    logging.getLogger("somelibrary").debug("lib-debug")
    return 0


@pytest.mark.parametrize(
    "argv, shown, hidden",
    [
        (["status"], ["ours-info", "ours-warning"], ["ours-debug", "lib-debug"]),
        (["-v", "status"], ["ours-debug", "ours-info", "ours-warning"], []),
        (["status", "--verbose"], ["ours-debug", "ours-info", "ours-warning"], []),
        (["--quiet", "status"], ["ours-warning"], ["ours-debug", "ours-info", "lib-debug"]),
        (["status", "-q"], ["ours-warning"], ["ours-debug", "ours-info"]),
    ],
)
def test_verbose_and_quiet_set_what_is_logged(monkeypatch, capsys, argv, shown, hidden):
    monkeypatch.setattr(cli, "_cmd_status", _log_everything)
    ours = logging.getLogger("douyin_etl")
    before = (ours.level, ours.propagate, len(ours.handlers))
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert all(s in err for s in shown), err
    assert not any(s in err for s in hidden), err
    assert (ours.level, ours.propagate, len(ours.handlers)) == before  # undone after the command


def test_verbose_survives_airflow_reconfiguring_logging(tmp_path):
    """`run`/`demo`/`airflow` import Airflow mid-command, which resets the root logger (INFO, to stdout):
    ``-v`` still logs our debug lines, to stderr."""
    script = (
        "import sys, douyin_sim.simulator as sim\n"
        "real = sim.generate_world\n"
        "def generate_world(**kw):\n"
        "    import airflow.settings  # configures logging, as importing Airflow does in run/demo\n"
        "    return real(**kw)\n"
        "sim.generate_world = generate_world\n"
        "from douyin_etl.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AIRFLOW_HOME": str(tmp_path / "airflow")}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "-v",
            "simulate",
            "--days",
            "1",
            "--shops",
            "1",
            "--orders-per-day",
            "2",
            "--out",
            str(tmp_path / "world"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DEBUG douyin_sim.simulator.world: simulated 2026-10-01" in proc.stderr, proc.stderr[-3000:]
    out = proc.stdout.replace(str(tmp_path), "")
    assert "douyin_etl" not in out and "douyin_sim" not in out, proc.stdout  # logs never on stdout


def test_a_port_in_use_is_one_line(tmp_path, capsys):
    import socket

    from douyin_sim.simulator import generate_world

    world = tmp_path / "world"
    generate_world(out=world, seed=1, start=date(2026, 10, 1), days=1, shops=1, orders_per_day=2)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["serve-mock", "--world", str(world), "--port", str(busy.getsockname()[1])]) == 2
    err = _one_line_error(capsys, "serve-mock")
    assert "pick another --port" in err
