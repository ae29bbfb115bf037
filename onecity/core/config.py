"""Settings, read once from ``ONECITY_*`` environment variables.

A city runs OneCity in production; a developer runs it on a laptop. The difference is one
variable, ``ONECITY_ENV``. Outside ``development``/``demo``/``test`` a secret key that anyone
could know (a shipped default, or too short to resist guessing) is refused at start-up,
because every session cookie and access token is signed with it.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_VAR = Path.cwd() / "var"

#: Secret keys that ship in the repository or documentation: never valid in production.
KNOWN_DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "onecity-development-only"})
DEVELOPMENT_SECRET = "onecity-development-only"


class Environment(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"
    DEMO = "demo"
    TEST = "test"


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONECITY_", extra="ignore")

    env: Environment = Environment.PRODUCTION
    secret_key: str = DEVELOPMENT_SECRET
    database_url: str = Field(default_factory=lambda: f"sqlite:///{REPO_VAR / 'onecity.db'}")
    bus_url: str = "memory://"
    mqtt_url: str | None = None
    #: Prefix of every subject on the bus and name of the JetStream stream.
    bus_stream: str = "ONECITY"
    access_token_minutes: int = 15
    session_hours: int = 8
    #: Failed logins allowed per username (and per client address) inside the window.
    login_max_failures: int = 5
    login_window_minutes: int = 15
    #: How often the outbox relay looks for unpublished events when nothing woke it.
    outbox_poll_seconds: float = 1.0
    default_language: str = "zh"
    #: Largest request body accepted (scanned documents are the big ones).
    max_body_bytes: int = 20 * 1024 * 1024

    @model_validator(mode="after")
    def _refuse_known_secret(self) -> Settings:
        relaxed = {Environment.DEVELOPMENT, Environment.DEMO, Environment.TEST}
        if self.env not in relaxed and (self.secret_key in KNOWN_DEFAULT_SECRETS or len(self.secret_key) < 32):
            raise ConfigurationError(
                "ONECITY_SECRET_KEY is unset, a known default or shorter than 32 characters. "
                "Set it to a random value, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, "
                "or set ONECITY_ENV=development for a local, non-production run."
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings`` instead."""
    return Settings()


def random_secret() -> str:
    return secrets.token_urlsafe(48)
