"""The command line from a fresh shell, outside the repository: settings found from an env file
above the working directory, one clear line (in the locale's language) for a missing or unmigrated
database and no empty ``var/onecity.db`` left behind, no secret asked of commands that sign
nothing, and ``simulate`` refusing a runaway scale or an unwritable report before it starts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def onecity(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``onecity ARGS`` in ``cwd`` with a fresh environment (no ONECITY_* unless given)."""
    fresh = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "onecity", *args], cwd=cwd, env=fresh, capture_output=True, text=True, timeout=120
    )


def one_clear_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr.strip()


def test_a_missing_database_is_one_line_in_the_readers_language_and_makes_nothing(tmp_path: Path) -> None:
    line = one_clear_line(onecity(tmp_path, "audit", "verify"))
    assert f"no database at {tmp_path}/var/onecity.db" in line and "onecity db upgrade" in line
    zh = one_clear_line(
        onecity(tmp_path, "user", "create", "--username", "wang.li", "--password", "x", LANG="zh_CN.UTF-8")
    )
    assert "没有找到数据库" in zh and "onecity db upgrade" in zh
    assert list(tmp_path.iterdir()) == []  # no var/, no empty onecity.db


def test_an_unmigrated_database_is_one_line(tmp_path: Path) -> None:
    import sqlite3

    (tmp_path / "var").mkdir()
    with sqlite3.connect(tmp_path / "var" / "onecity.db") as conn:
        conn.execute("CREATE TABLE something_else (x INTEGER)")
    line = one_clear_line(onecity(tmp_path, "audit", "verify"))
    assert "not migrated" in line and "onecity db upgrade" in line


def test_settings_come_from_the_env_file_above_and_need_no_secret_to_read(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The demo's env file names a database by a relative path; from two directories down, in
    production (no ONECITY_ENV) and without ONECITY_SECRET_KEY, the audit log verifies."""
    (tmp_path / "data").mkdir()
    shutil.copy(sqlite_template, tmp_path / "data" / "city.db")
    (tmp_path / "onecity.env").write_text("# a city's settings\nONECITY_DATABASE_URL=sqlite:///data/city.db\n")
    deep = tmp_path / "docs" / "notes"
    deep.mkdir(parents=True)
    r = onecity(deep, "audit", "verify")
    assert r.returncode == 0, r.stderr
    assert "audit log intact" in r.stdout
    assert not (deep / "var").exists() and not (tmp_path / "var").exists()
    # a command that signs (the server) still wants the secret in production
    line = one_clear_line(onecity(deep, "serve"))
    assert "ONECITY_SECRET_KEY" in line
    # the environment wins over the file
    elsewhere = tmp_path / "other.db"
    line = one_clear_line(onecity(deep, "audit", "verify", ONECITY_DATABASE_URL=f"sqlite:///{elsewhere}"))
    assert str(elsewhere) in line


def test_simulate_checks_its_scale_and_report_before_it_starts(tmp_path: Path) -> None:
    dev = {"ONECITY_ENV": "development"}
    r = onecity(tmp_path, "simulate", "--hours", "1", "--scale", "5", **dev)
    assert r.returncode == 2 and "--force" in r.stderr and "Traceback" not in r.stderr
    r = onecity(tmp_path, "simulate", "--hours", "1", "--report", "/nonexistent/dir/report.json", **dev)
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = onecity(tmp_path, "simulate", "--hours", "1", "--report", str(tmp_path), **dev)
    assert r.returncode == 2 and "directory" in r.stderr
    r = onecity(tmp_path, "simulate", "--hours", "-2", **dev)
    assert r.returncode == 2 and "--hours must be positive" in r.stderr
    assert list(tmp_path.iterdir()) == []  # refused before any database was made


def test_the_xdg_config_is_read_when_no_env_file_is_above(tmp_path: Path) -> None:
    config = tmp_path / "xdg" / "onecity"
    config.mkdir(parents=True)
    (config / "onecity.env").write_text("ONECITY_DATABASE_URL=sqlite:////srv/onecity/city.db\n")
    work = tmp_path / "work"
    work.mkdir()
    line = one_clear_line(onecity(work, "audit", "verify", XDG_CONFIG_HOME=str(tmp_path / "xdg")))
    assert "/srv/onecity/city.db" in line
    line = one_clear_line(
        onecity(work, "audit", "verify", XDG_CONFIG_HOME=str(tmp_path / "xdg"), ONECITY_ENV_FILE="none")
    )
    assert f"{work}/var/onecity.db" in line  # no env file at all
