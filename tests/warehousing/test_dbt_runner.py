"""The dbt subprocess runner on a throwaway one-model project (not the real marts)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from douyin_etl.warehousing import wap
from douyin_etl.warehousing.dbt_runner import DbtError, run_dbt

PROFILE = """tiny:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('DOUYIN_DBT_DB_PATH') }}"
      threads: 1
"""


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    project = tmp_path / "tiny"
    (project / "models").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\nvars:\n  n: 3\n"
        "models:\n  tiny:\n    +materialized: table\n"
    )
    (project / "profiles.yml").write_text(PROFILE)
    (project / "models" / "numbers.sql").write_text(
        "select range as i, '{{ env_var('DOUYIN_LAKE_DIR') }}' as lake from range({{ var('n') }})"
    )
    (project / "tests" / "no_big_numbers.sql").write_text("select * from {{ ref('numbers') }} where i >= 5")
    return project


def test_build_runs_in_a_subprocess_and_parses_results(tiny_project: Path, wh_env, tmp_path: Path):
    audit = wap.prepare_audit("dbt-ok")  # created in the DuckDB 1.4 storage format
    run_dir = tmp_path / "run1"
    res = run_dbt(["build"], db_path=audit, vars={"n": 4}, run_dir=run_dir, project_dir=tiny_project)
    assert res.ok and res.returncode == 0, res.summary()
    by_id = {n.unique_id: n for n in res.nodes}
    model = by_id["model.tiny.numbers"]
    assert model.status == "success" and model.execution_time > 0 and model.started_at
    assert [n.status for n in res.nodes if n.resource_type == "test"] == ["pass"]
    assert (run_dir / "run_results.json").exists() and (run_dir / "dbt.log").read_text().count("numbers") >= 1
    assert (run_dir / "target" / "manifest.json").exists()  # per-run target path
    assert res.failures == [] and res.counts() == {"success": 1, "pass": 1}
    con = duckdb.connect(str(audit), read_only=True)
    assert con.execute("select count(*), max(lake) from numbers").fetchone() == (4, str(wh_env["lake"]))
    con.close()
    head = audit.read_bytes()[:20]
    assert int.from_bytes(head[12:20], "little") == 67  # dbt-duckdb kept the v1.4.0 storage format


def test_failures_return_ok_false_with_the_failing_nodes_and_messages(tiny_project: Path, wh_env, tmp_path: Path):
    # one build, two kinds of failure: a data test that finds rows, a model that does not compile
    (tiny_project / "models" / "broken.sql").write_text("select * from does_not_exist_anywhere")
    db = tmp_path / "t.duckdb"
    res = run_dbt(["build"], db_path=db, vars={"n": 8}, run_dir=tmp_path / "run2", project_dir=tiny_project)
    assert not res.ok and res.returncode == 1
    failures = {f["unique_id"].split(".")[2]: f for f in res.failures}
    assert set(failures) == {"no_big_numbers", "broken"}
    assert failures["no_big_numbers"]["status"] == "fail" and failures["no_big_numbers"]["failures"] == 3  # i = 5, 6, 7
    assert failures["broken"]["status"] == "error" and "does_not_exist_anywhere" in failures["broken"]["message"]
    assert res.counts() == {"success": 1, "fail": 1, "error": 1}
    err = str(DbtError(res))
    assert "no_big_numbers" in err and str(res.log_path) in err
    summary = json.loads(json.dumps(res.summary()))  # JSON-ready for the run report
    assert summary["ok"] is False and len(summary["failures"]) == 2


def test_run_parameters_reach_the_models_without_a_new_parse(
    tiny_project: Path, wh_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Issue 13: the run's dates are run parameters (environment, read while dbt executes), not --vars, and
    dbt's saved parse survives from one run (its own target path) to the next."""
    (tiny_project / "macros").mkdir()
    (tiny_project / "macros" / "as_of.sql").write_text(
        "{% macro as_of() %}{{ return(env_var('DOUYIN_RUN_AS_OF_DATE', 'none') if execute else 'parsing') }}{% endmacro %}"
    )
    (tiny_project / "models" / "horizon.sql").write_text("select '{{ as_of() }}' as as_of")
    monkeypatch.setenv("DOUYIN_RUN_WINDOW_START", "1999-01-01")  # a stray value in the caller's environment
    db = tmp_path / "p.duckdb"
    seen = []
    for i, day in enumerate(["2026-10-29", "2026-10-30"]):
        res = run_dbt(
            ["run"], db_path=db, run_params={"as_of_date": day}, run_dir=tmp_path / f"run{i}", project_dir=tiny_project
        )
        assert res.ok, res.summary()
        con = duckdb.connect(str(db), read_only=True)
        seen.append((res.parse, con.execute("select as_of from horizon").fetchone()[0]))
        con.close()
    assert seen[0][0].startswith("full") and seen[1] == ("reused", "2026-10-30")
    assert seen[0][1] == "2026-10-29"
    assert "DOUYIN_RUN_WINDOW_START" not in (tmp_path / "run1" / "logs" / "dbt.log").read_text()
    (tiny_project / "models" / "numbers.sql").write_text("select range as i from range(2)")  # one file changed
    res = run_dbt(
        ["run"],
        db_path=db,
        run_params={"as_of_date": "2026-10-31"},
        run_dir=tmp_path / "run2",
        project_dir=tiny_project,
    )
    assert res.ok and res.parse == "partial" and res.summary()["parse"] == "partial"


def test_run_parameters_are_checked():
    from douyin_etl.warehousing.dbt_runner import run_param_env

    assert run_param_env({"as_of_date": "2026-10-30", "window_start": None}) == {"DOUYIN_RUN_AS_OF_DATE": "2026-10-30"}
    assert run_param_env({"tests_since": "2026-10-27"}) == {"DOUYIN_RUN_TESTS_SINCE": "2026-10-27"}
    from datetime import date

    from douyin_etl.warehousing.dbt_runner import tests_since

    assert tests_since(date(2026, 10, 30)) == date(2026, 10, 27)  # dbt_project.yml lookback_days: 3
    with pytest.raises(ValueError, match="unknown dbt run parameter 'lookback'"):
        run_param_env({"lookback": 3})
    with pytest.raises(ValueError, match="window_start must be a date YYYY-MM-DD"):
        run_param_env({"window_start": "30/10/2026"})


def test_each_database_file_name_keeps_its_own_saved_parse(tiny_project: Path, wh_env, tmp_path: Path):
    """The profile's ``path`` is the file name, so a build into a file named like an earlier one reuses that
    one's saved parse although a file of another name was built in between (main: one saved parse for
    both names, "profile has changed": a full parse every time)."""
    modes = [
        run_dbt(
            ["run"], db_path=tmp_path / f"w{i}" / name, run_dir=tmp_path / f"run{i}", project_dir=tiny_project
        ).parse
        for i, name in enumerate(["a.duckdb", "b.duckdb", "a.duckdb"])
    ]
    assert [m.split(":")[0] for m in modes[:2]] == ["full", "full"] and modes[2] == "reused", modes
