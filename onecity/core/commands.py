"""What every ``onecity`` command runs with: the principal it acts as, its database, its words.

Commands run on the server itself, as the system principal ``cli:<os user>``, so every change
they make is audited like any other. These live apart from :mod:`onecity.cli` (the entry
point, which nothing imports) so that each part's ``cli`` module can use them without
importing the command line that loads it.

A command's errors are one line in the reader's language: Chinese when the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``) is Chinese, English otherwise.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager

from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.identity.principal import Principal, system_principal

#: The command line's own words (zh, en): its errors, which the server's pages never show.
WORDS: dict[str, tuple[str, str]] = {
    "missing": (
        "没有找到数据库 {where}：请先运行 `onecity db upgrade`（或 `make demo`），"
        "或在 onecity.env / ONECITY_DATABASE_URL 中指明数据库",
        "no database at {where}: run `onecity db upgrade` (or `make demo`) first, "
        "or name the database in onecity.env or ONECITY_DATABASE_URL",
    ),
    "unmigrated": (
        "数据库 {where} 的结构不是当前版本（{current} → {head}）：请运行 `onecity db upgrade`",
        "the database at {where} is not migrated ({current} → {head}): run `onecity db upgrade`",
    ),
    "unreachable": ("无法打开数据库 {where}：{why}", "cannot open the database at {where}: {why}"),
    "config": ("配置错误：{why}", "configuration error: {why}"),
    "error": ("错误：{why}", "error: {why}"),
    "interrupted": ("已中断", "interrupted"),
}


def language() -> str:
    """``zh`` when the locale is Chinese, else ``en`` (the first of LC_ALL, LC_MESSAGES, LANG set wins)."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def say(key: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (zh if language() == "zh" else en).format(**values)


def where(url: str) -> str:
    """A database URL as a person may read it: the file of a SQLite one, no password in any."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


class DatabaseNotReady(RuntimeError):
    """The database is there but not migrated to the code's schema; the message says what to run."""


def cli_principal() -> Principal:
    """The system principal a command acts as: ``cli:`` and the operating-system user."""
    return system_principal(f"cli:{getpass.getuser()}")


def open_db(settings: Settings, *, migrated: bool = True) -> Database:
    """The database the settings name; with ``migrated`` (the default), refuses one whose schema
    is not the code's (raises :class:`DatabaseNotReady`), rather than failing later on a missing table."""
    db = Database(settings.database_url)
    if migrated:
        from onecity.core import migrate

        current, head = migrate.current(db), migrate.head()
        if current != head:
            db.dispose()
            raise DatabaseNotReady(
                say("unmigrated", where=where(settings.database_url), current=current or "∅", head=head)
            )
    return db


@contextmanager
def opened(settings: Settings, *, migrated: bool = True) -> Iterator[Database]:
    """:func:`open_db` for the length of a ``with``, disposed at its end: a command run in a caller's
    process (the tests, an embedding program) leaves no pooled connection for the garbage collector."""
    db = open_db(settings, migrated=migrated)
    try:
        yield db
    finally:
        db.dispose()
