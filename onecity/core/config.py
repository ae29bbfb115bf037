"""Settings, read once from ``ONECITY_*`` environment variables.

A city runs OneCity in production; a developer runs it on a laptop. The difference is one
variable, ``ONECITY_ENV``. Outside ``development``/``demo``/``test`` a secret key that anyone
could know or guess is refused at start-up, because every session cookie and access token is
signed with it (and the credential signing keys are sealed with it): a shipped default, fewer
than 32 characters, a key made of few distinct characters or one short pattern repeated, a key
with a known word in it, or one whose estimated entropy is under 100 bits.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_VAR = Path.cwd() / "var"

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
    database_url: str = Field(default_factory=lambda: f"sqlite:///{REPO_VAR / 'onecity.db'}")
    bus_url: str = "memory://"
    mqtt_url: str | None = None
    #: Prefix of every subject on the bus and name of the JetStream stream.
    bus_stream: str = "ONECITY"
    access_token_minutes: int = 15
    session_hours: int = 8
    #: Failed logins allowed per username (and per client address) before each further attempt
    #: must wait; the wait doubles with every failure (see ``identity.auth``).
    login_max_failures: int = 5
    #: Failures older than this are forgotten.
    login_window_minutes: int = 15
    #: The first wait, and the longest a username (anyone can type it) or an address waits.
    login_first_delay_seconds: int = 30
    login_account_max_delay_seconds: int = 60
    login_client_max_delay_seconds: int = 15 * 60
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

    @model_validator(mode="after")
    def _refuse_known_secret(self) -> Settings:
        relaxed = {Environment.DEVELOPMENT, Environment.DEMO, Environment.TEST}
        weakness = secret_weakness(self.secret_key)
        if self.env not in relaxed and weakness is not None:
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings`` instead."""
    return Settings()
