"""Who the issuer is on the web: the platform's public address, baked into every credential.

``ONECITY_PUBLIC_URL`` (e.g. ``https://zwdt.sh.gov.cn``) is the credentials' ``issuer.id``
and the base of their status list URLs, so it must be the address verifiers reach and must
not change once credentials are out. The default suits a laptop.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


class IssuerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONECITY_", extra="ignore")

    public_url: str = DEFAULT_PUBLIC_URL

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")) or " " in value:
            raise ValueError("ONECITY_PUBLIC_URL must be an http(s) URL such as https://services.example.gov.cn")
        return value


@lru_cache(maxsize=1)
def issuer_url() -> str:
    return IssuerSettings().public_url
