"""The CLI explains itself (issue 16, point 2): every command has help and examples, every option its
help and default, no reStructuredText markup; ``--version``. Generated over the parser, so a new command
or option without help fails here."""

from __future__ import annotations

import argparse
import re

import pytest

from douyin_etl.cli import build_parser, main

MARKUP = re.compile(r"``|:(?:func|class|mod|meth|attr|ref):`|\.\. \w+::")


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._VersionAction))]


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_and_option_has_help_a_default_and_an_example(name):
    parser = _commands()[name]
    text = parser.format_help()
    assert not MARKUP.search(text), text
    examples = text.split("examples:\n", 1)
    assert len(examples) == 2 and f"  douyin-etl {name}" in examples[1], f"{name}: no example in its help"
    for action in _options(parser):
        label = "/".join(action.option_strings) or action.dest
        assert action.help and action.help is not argparse.SUPPRESS, f"{name} {label}: no help"
        takes_value = action.nargs != 0 and action.option_strings
        if takes_value and not action.required and action.default not in (None, argparse.SUPPRESS):
            formatted = parser._get_formatter()._expand_help(action)  # what --help prints for it
            assert "default" in formatted, f"{name} {label}: help does not say its default {action.default!r}"
        if action.required:
            assert "required" in action.help, f"{name} {label}: help does not say it is required"


def test_the_top_level_help_lists_every_command_without_markup(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert not MARKUP.search(out), out
    for name in _commands():
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", out, re.M), f"{name} missing from --help"
    assert "douyin-etl demo" in out  # first steps


def test_version(capsys):
    from importlib.metadata import version

    from douyin_etl import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"douyin-etl {__version__} (Python ")
    assert f"duckdb {version('duckdb')}" in out and f"apache-airflow {version('apache-airflow')}" in out


def test_the_demo_ends_with_where_the_report_is_and_what_to_type_next(tmp_path):
    from douyin_etl.demo import next_steps

    html = tmp_path / "runs" / "manual__x" / "report.html"
    text = next_steps("douyin-etl", html, tmp_path / "douyin.duckdb")
    assert f"report     {html}" in text and str(tmp_path / "douyin.duckdb") in text
    lines = text.split("Next, try:", 1)[1].splitlines()
    for command in ("query", "status", "export", "docs", "dashboard"):
        assert any(line.strip().startswith(f"douyin-etl {command}") for line in lines), (command, text)
    assert any(line.strip().startswith("make airflow") for line in lines)


def test_the_step_watcher_prints_each_recorded_step(tmp_path):
    """What the demo prints while Airflow runs: one line per step record, as it appears."""
    import io
    import json

    from douyin_etl.progress import StepWatcher

    out = io.StringIO()
    with StepWatcher(tmp_path, expected_extracts=2, out=out):
        (tmp_path / "extract.shop_order.json").write_text(
            json.dumps(
                {"status": "ok", "seconds": 2.5, "details": {"days": ["2026-10-01", "2026-10-02"], "rows": 1234}}
            )
        )
        (tmp_path / "landing_gate.json").write_text(
            json.dumps({"status": "ok", "seconds": 3, "details": {"checks": [{"success": True}, {"success": False}]}})
        )
    text = out.getvalue()
    assert "landed shop_order: 1,234 rows, 2 day(s) 2026-10-01..2026-10-02 — ok in 2.5 s" in text
    assert "landing gate: 2 checks, 1 failing — ok in 3.0 s" in text
