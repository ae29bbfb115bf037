"""Settings, read once from ``ONECITY_*`` environment variables (and an env file).

**Where settings come from.** The process environment first; then the first ``onecity.env``
file found in the working directory or any directory above it (``onecity demo`` writes one
beside its ``var/``, so every ``onecity`` command run anywhere under the checkout finds the
demo's database); else ``$XDG_CONFIG_HOME/onecity/onecity.env`` (``~/.config/onecity/``);
``ONECITY_ENV_FILE`` names a file instead (``none``: no file). A variable set in the environment wins over the
file. Paths are made absolute: a relative SQLite path or ``ONECITY_VAR_DIR`` is taken from the
env file's directory (or the working directory when no file was found), so a command run from
another directory still opens the same database rather than making a new one.

A city runs OneCity in production; a developer runs it on a laptop. The difference is one
variable, ``ONECITY_ENV``. Outside ``development``/``demo``/``test`` a secret key that anyone
could know or guess is refused at start-up, because every session cookie and access token is
signed with it (and the credential signing keys are sealed with it): a shipped default, fewer
than 32 characters, a key made of few distinct characters or one short pattern repeated, a key
with a known word in it, or one whose estimated entropy is under 100 bits.
"""

from __future__ import annotations

import contextvars
import ipaddress
import math
import os
import secrets
from collections import Counter
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The env file looked for in the working directory and the directories above it.
ENV_FILE_NAME = "onecity.env"
#: Relative paths in the settings are taken from here (the env file's directory) while settings load.
_BASE_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar("onecity_settings_base", default=None)
#: Set while loading settings for a command that signs nothing (see :func:`load_settings`).
_SECRET_OPTIONAL: contextvars.ContextVar[bool] = contextvars.ContextVar("onecity_secret_optional", default=False)
#: The variables this process took from an env file (not from its own environment).
FROM_ENV_FILE: set[str] = set()

#: Secret keys that ship in the repository or documentation: never valid in production.
KNOWN_DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "onecity-development-only"})
DEVELOPMENT_SECRET = "onecity-development-only"
#: Words that mark a secret as typed by a person or copied from an example, not generated.
KNOWN_SECRET_WORDS = (
    "onecity",
    "secret",
    "password",
    "changeme",
    "change-me",
    "example",
    "qwerty",
    "123456789",
    "abcdefgh",
)
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 100
MIN_SECRET_DISTINCT = 10


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` is not fit to sign a city's sessions, or None if it is.

    The entropy estimate is the string's Shannon entropy over its own characters times its
    length: a generated ``token_urlsafe(48)`` scores ~340 bits, ``token_hex(16)`` ~115, while
    ``"k" * 40`` scores 0 and a repeated pattern is caught before the estimate can flatter it.
    """
    if secret in KNOWN_DEFAULT_SECRETS:
        return "is unset or a default shipped with OneCity"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    lowered = secret.lower()
    for word in KNOWN_SECRET_WORDS:
        if word in lowered:
            return f"contains the well-known string {word!r}"
    if len(set(secret)) < MIN_SECRET_DISTINCT:
        return f"uses fewer than {MIN_SECRET_DISTINCT} distinct characters (repeated characters)"
    for period in range(1, 17):
        if len(secret) >= 2 * period and all(secret[i] == secret[i % period] for i in range(len(secret))):
            return f"repeats a pattern of {period} characters"
    counts = Counter(secret)
    bits = -sum(n * math.log2(n / len(secret)) for n in counts.values())
    if bits < MIN_SECRET_BITS:
        return f"has too little entropy (about {bits:.0f} bits; at least {MIN_SECRET_BITS} are needed)"
    return None


def parse_networks(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``["10.0.0.5", "192.0.2.0/24"]`` as networks; raises ValueError naming a bad entry."""
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as err:
            raise ValueError(f"ONECITY_TRUSTED_PROXIES: {entry!r} is not an IP address or network") from err
    return networks


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
    #: Where local state lives (the SQLite database, demo passwords, the audit checkpoint key):
    #: ``var/`` beside the env file, or under the working directory without one.
    var_dir: Path = Path("var")
    #: Empty: SQLite at ``<var_dir>/onecity.db``. A relative SQLite path is made absolute.
    database_url: str = ""
    bus_url: str = "memory://"
    mqtt_url: str | None = None
    #: Prefix of every subject on the bus and name of the JetStream stream.
    bus_stream: str = "ONECITY"
    access_token_minutes: int = 15
    session_hours: int = 8
    #: How long a server process remembers who a bearer token or API key stands for (seconds;
    #: 0: look it up on every request). A change made in one process is seen there at once and
    #: by the other processes within this time (``identity.callers``).
    caller_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    #: Failed logins allowed per username (and per client address) before each further attempt
    #: must wait; the wait doubles with every failure (see ``identity.auth``).
    login_max_failures: int = 5
    #: Failures older than this are forgotten.
    login_window_minutes: int = 15
    #: The first wait, and the longest a username (anyone can type it) or an address waits.
    login_first_delay_seconds: int = 30
    login_account_max_delay_seconds: int = 60
    login_client_max_delay_seconds: int = 15 * 60
    #: Failures from one address, whatever the accounts, before the address itself waits: guessing many
    #: accounts. One account's failures make only that account wait from that address.
    login_client_max_failures: int = 20
    #: Reverse proxies whose ``X-Forwarded-For`` is believed: addresses or networks, comma-separated.
    #: Empty (the default) believes nobody: the client is the peer of the TCP connection.
    trusted_proxies: str = ""
    #: How often the outbox relay looks for unpublished events when nothing woke it.
    outbox_poll_seconds: float = 1.0
    default_language: str = "zh"
    #: Largest request body accepted (scanned documents are the big ones).
    max_body_bytes: int = 20 * 1024 * 1024
    #: The Ed25519 key that signs audit checkpoints: a file the database does not hold
    #: (default ``var/audit-checkpoint.key``, created on first use with mode 0600).
    audit_key_file: Path | None = None
    #: How often the server signs a checkpoint of the audit chain (when it moved); 0 turns it off.
    audit_checkpoint_seconds: float = 900.0
    #: How long an ``Idempotency-Key`` is remembered.
    idempotency_keep_hours: int = 24
    #: Sensor readings kept, in calendar months (PostgreSQL: older weekly partitions of the observations are
    #: dropped, ``onecity.sensing.partitions``); 0 keeps them for ever. 13: a year back and the month before.
    sensing_retention_months: int = Field(default=13, ge=0)
    #: An MBTiles file of the base map written by ``onecity geo tiles``; without one the server cuts tiles on demand.
    basemap_mbtiles: Path | None = None
    #: The mail server notifications and one-time codes are sent through (``core.notify``). Empty: e-mail is
    #: only written to the server's log (development; nothing is delivered, and the log says so).
    smtp_host: str = ""
    smtp_port: int = 25
    #: The sender's address, e.g. ``OneCity <noreply@city.example>``.
    smtp_from: str = "OneCity <noreply@localhost>"
    #: ``starttls`` (upgrade on the submission port, usually 587), ``ssl`` (implicit TLS, 465) or ``none``.
    smtp_tls: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    #: The SMS gateway. Only ``log`` exists yet: text messages are written to the log, not sent.
    sms_gateway: Literal["log"] = "log"
    #: How long a one-time code (registration, password reset) stays good, and how many tries it allows.
    code_minutes: int = Field(default=10, ge=1, le=60)
    code_max_attempts: int = Field(default=5, ge=1, le=20)
    #: Codes asked for per ID number or account, and per client address, within an hour.
    code_max_per_subject: int = Field(default=5, ge=1)
    code_max_per_client: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        base = _BASE_DIR.get() or Path.cwd()
        self.var_dir = (base / self.var_dir.expanduser()).resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'onecity.db'}"
        elif self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            path = Path(self.database_url[len("sqlite:///") :]).expanduser()
            if not path.is_absolute():
                self.database_url = f"sqlite:///{(base / path).resolve()}"
        return self

    @model_validator(mode="after")
    def _refuse_known_secret(self) -> Settings:
        relaxed = {Environment.DEVELOPMENT, Environment.DEMO, Environment.TEST}
        weakness = secret_weakness(self.secret_key)
        if self.env not in relaxed and weakness is not None and _SECRET_OPTIONAL.get():
            # a command that signs nothing runs without one; a key nobody knows stands in, so
            # nothing it might sign by mistake could be forged, nor verify anywhere else
            self.secret_key = secrets.token_urlsafe(48)
        elif self.env not in relaxed and weakness is not None:
            raise ConfigurationError(
                f"ONECITY_SECRET_KEY {weakness}: anyone who guesses it can forge sign-ins. "
                "Set it to a random value, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, "
                "or set ONECITY_ENV=development for a local, non-production run."
            )
        return self

    @model_validator(mode="after")
    def _check_trusted_proxies(self) -> Settings:
        try:
            parse_networks(self.trusted_proxy_list)
        except ValueError as err:
            raise ConfigurationError(f"{err}; write e.g. ONECITY_TRUSTED_PROXIES=10.0.0.5,192.0.2.0/24") from err
        return self

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def find_env_file(start: Path | None = None) -> Path | None:
    """The env file settings are read from: ``ONECITY_ENV_FILE``, else the first ``onecity.env``
    in ``start`` (the working directory) or above it, else the XDG config directory's; or None."""
    named = os.environ.get("ONECITY_ENV_FILE")
    if named is not None and named.strip().lower() in ("", "none"):
        return None  # no env file at all (the test suite: a demo's file in the checkout must not leak in)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"ONECITY_ENV_FILE names {path}, which is not a file")
        return path.resolve()
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / ENV_FILE_NAME
        if candidate.is_file():
            return candidate
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidate = config_home / "onecity" / ENV_FILE_NAME
    return candidate if candidate.is_file() else None


def read_env_file(path: Path) -> dict[str, str]:
    """The ``ONECITY_*`` variables an env file sets (``KEY=value`` lines; ``#`` comments)."""
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if k.startswith("ONECITY_") and v is not None}


def load_settings(*, need_secret: bool = True) -> Settings:
    """Settings from the environment and the env file (:func:`find_env_file`).

    The env file's variables are put into the process environment where they are not set
    already, so every part's own settings (the credentials' public URL…) see them too. With
    ``need_secret=False`` (a command that signs nothing: reading a scan, verifying the audit
    log) a missing or weak ``ONECITY_SECRET_KEY`` is no error outside development.
    """
    env_file = find_env_file()
    if env_file is not None:
        for key, value in read_env_file(env_file).items():
            if key not in os.environ:
                os.environ[key] = value
                FROM_ENV_FILE.add(key)
    base = _BASE_DIR.set(env_file.parent if env_file is not None else None)
    optional = _SECRET_OPTIONAL.set(not need_secret)
    try:
        return Settings()
    finally:
        _BASE_DIR.reset(base)
        _SECRET_OPTIONAL.reset(optional)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings`` instead."""
    return load_settings()
