"""What every ``onecity`` command runs with: the principal it acts as and its database.

Commands run on the server itself, as the system principal ``cli:<os user>``, so every change
they make is audited like any other. These live apart from :mod:`onecity.cli` (the entry
point, which nothing imports) so that each part's ``cli`` module can use them without
importing the command line that loads it.
"""

from __future__ import annotations

import getpass

from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.identity.principal import Principal, system_principal


def cli_principal() -> Principal:
    """The system principal a command acts as: ``cli:`` and the operating-system user."""
    return system_principal(f"cli:{getpass.getuser()}")


def open_db(settings: Settings) -> Database:
    """The database the settings name."""
    return Database(settings.database_url)
