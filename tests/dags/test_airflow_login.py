"""`make airflow` (issue 16 point 4): the login is printed at every start (a random password kept in the
Airflow home, or the one the user sets in DOUYIN_AIRFLOW_PASSWORD), with the URL; Beijing time."""

from __future__ import annotations

import json
import stat

from douyin_etl.orchestration import local_airflow as la


def test_the_login_is_the_same_at_every_start_and_printed_each_time(tmp_path, monkeypatch):
    monkeypatch.delenv(la.PASSWORD_ENV, raising=False)
    user, first, chosen = la.ensure_login(tmp_path)
    assert user == "admin" and len(first) >= 12 and not chosen
    path = la.passwords_file(tmp_path)
    assert json.loads(path.read_text()) == {"admin": first}  # where Airflow's simple auth manager reads it
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert la.ensure_login(tmp_path) == (user, first, False)  # the second start: the same login
    text = la.login_text(8080, user, first, chosen)
    assert "http://127.0.0.1:8080/" in text and f"admin / {first}" in text and "Asia/Shanghai" in text


def test_a_password_the_user_sets_wins_and_is_not_echoed(tmp_path, monkeypatch):
    la.ensure_login(tmp_path)
    monkeypatch.setenv(la.PASSWORD_ENV, "my-own-password-123")
    user, password, chosen = la.ensure_login(tmp_path)
    assert (password, chosen) == ("my-own-password-123", True)
    assert json.loads(la.passwords_file(tmp_path).read_text()) == {"admin": "my-own-password-123"}
    text = la.login_text(8090, user, password, chosen)
    assert "my-own-password-123" not in text and la.PASSWORD_ENV in text and ":8090/" in text


def test_the_local_airflow_runs_in_beijing_time_with_our_password_file(tmp_path):
    env = la.standalone_env(tmp_path, 8080)
    assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Shanghai"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(la.passwords_file(tmp_path))
