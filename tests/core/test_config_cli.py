"""Settings refuse a known secret in production; the CLI creates users and keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from onecity.core.config import ConfigurationError, Environment, Settings
from onecity.core.db import Database
from onecity.core.identity import service
from onecity.core.identity.models import User


def test_known_default_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONECITY_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="ONECITY_SECRET_KEY"):
        Settings(env=Environment.PRODUCTION)
    with pytest.raises(ConfigurationError):
        Settings(env=Environment.PRODUCTION, secret_key="changeme")
    with pytest.raises(ConfigurationError):
        Settings(env=Environment.PRODUCTION, secret_key="short-but-not-default")
    assert (
        Settings(env=Environment.PRODUCTION, secret_key="Kq8vT3xLr9Zp2MwY7bN4cD6fH1jS5gA0").secret_key
        == "Kq8vT3xLr9Zp2MwY7bN4cD6fH1jS5gA0"
    )
    assert Settings(env=Environment.DEMO).env is Environment.DEMO


def test_settings_come_from_onecity_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONECITY_ENV", "development")
    monkeypatch.setenv("ONECITY_BUS_URL", "nats://127.0.0.1:4222")
    monkeypatch.setenv("ONECITY_MQTT_URL", "mqtt://127.0.0.1:1883")
    s = Settings()
    assert (s.bus_url, s.mqtt_url, s.env) == ("nats://127.0.0.1:4222", "mqtt://127.0.0.1:1883", Environment.DEVELOPMENT)


def test_cli_refuses_to_start_in_production_with_default_secret(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "onecity", "serve"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "ONECITY_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "ONECITY_ENV_FILE": "none"},
    )
    assert r.returncode == 2
    assert "ONECITY_SECRET_KEY" in r.stderr


def _cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onecity", *args],
        capture_output=True,
        text=True,
        env={
            "ONECITY_DATABASE_URL": db.url,
            "ONECITY_ENV": "test",
            "PATH": "/usr/bin:/bin",
            "ONECITY_ENV_FILE": "none",
        },
    )


def test_cli_user_and_apikey_create(db: Database) -> None:
    r = _cli(
        db,
        "agency",
        "create",
        "--code",
        "xh-samr",
        "--name",
        "徐汇区市场监督管理局",
        "--name-en",
        "Xuhui Market Regulation Bureau",
        "--division",
        "310104000000",
    )
    assert r.returncode == 0, r.stderr
    r = _cli(
        db,
        "user",
        "create",
        "--username",
        "li.clerk",
        "--password",
        "Counter-2026!",
        "--role",
        "counter_clerk",
        "--role",
        "reviewer",
        "--agency",
        "xh-samr",
        "--division",
        "310104003000",
    )
    assert r.returncode == 0, r.stderr
    with db.sessions() as session:
        user = session.scalar(select(User).where(User.username == "li.clerk"))
        assert user is not None and sorted(user.roles) == ["counter_clerk", "reviewer"]
    r = _cli(db, "apikey", "create", "--name", "open311 app", "--scope", "open311", "--scope", "read")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert r.stdout.count("\n") == 1 and key.startswith("oc_")
    with db.sessions() as session:
        principal = service.principal_for_api_key(session, key)
    assert principal.scopes == {"open311", "read"}
    # bad input: a clear message and a non-zero exit, nothing written
    r = _cli(db, "user", "create", "--username", "x", "--password", "short", "--role", "admin")
    assert r.returncode == 1 and "error:" in r.stderr
    r = _cli(
        db,
        "user",
        "create",
        "--username",
        "wang.staff",
        "--password",
        "Long-enough-1",
        "--role",
        "admin",
        "--agency",
        "xh-samr",
        "--division",
        "310101000000",
    )
    assert r.returncode == 1 and "not served by agency" in r.stderr
