"""Short-lived access tokens: JWT (RFC 7519) signed HS256 with the platform's secret key.

The token names the user only; roles, agency and division are read from the database, so
disabling a user or removing a role takes effect at once in the process that made the change
and within seconds in the others (a server process remembers a caller for a few seconds:
:mod:`onecity.core.identity.callers`).
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from onecity.core import clock
from onecity.core.errors import AuthenticationRequired

ISSUER = "onecity"
AUDIENCE = "onecity-api"


@lru_cache(maxsize=8)
def _key(secret_key: str) -> OctKey:
    """The signing key, imported once per secret (importing it cost a sixth of a check)."""
    return OctKey.import_key(secret_key)


def issue_access_token(secret_key: str, user_id: str, minutes: int) -> tuple[str, int]:
    """A signed token for ``user_id`` and its lifetime in seconds."""
    issued = clock.now()
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=minutes)).timestamp()),
    }
    token = jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, _key(secret_key))
    return token, minutes * 60


def read_access_token(secret_key: str, token: str) -> str:
    """The user id in a valid, unexpired token; :class:`AuthenticationRequired` otherwise."""
    return verify_access_token(secret_key, token)[0]


def verify_access_token(secret_key: str, token: str) -> tuple[str, int]:
    """The user id and expiry (seconds since the epoch) of a valid, unexpired token;
    :class:`AuthenticationRequired` otherwise."""
    try:
        decoded = jwt.decode(token, _key(secret_key), algorithms=["HS256"])
        registry = JWTClaimsRegistry(
            now=int(clock.now().timestamp()),
            leeway=5,
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            sub={"essential": True},
            exp={"essential": True},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError) as err:
        raise AuthenticationRequired(
            "the access token is invalid or has expired; request a new one at /api/v1/auth/token"
        ) from err
    return str(decoded.claims["sub"]), int(decoded.claims["exp"])
