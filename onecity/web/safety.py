"""Small guards the pages need: local redirects only, and the sign-in form's CSRF token.

Before sign-in there is no session to hold a CSRF token, so the sign-in form uses a
*signed double submit*: ``GET /login`` sets a random nonce in an HttpOnly, SameSite=Strict
cookie and puts an HMAC of it (keyed with the platform secret) in the form. A forged
cross-site post carries neither; a cookie planted from a sibling domain cannot produce the
matching HMAC without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

LOGIN_CSRF_COOKIE = "onecity_csrf"
LOGIN_CSRF_MAX_AGE = 2 * 3600
MAX_NEXT_LENGTH = 2000


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default``: never an open redirect.

    Refuses absolute URLs, scheme-relative ``//host`` and browsers' backslash variants
    (``/\\host``), and control characters that could split a header.
    """
    if not target or len(target) > MAX_NEXT_LENGTH or not target.startswith("/"):
        return default
    if target.startswith("//") or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _sign(secret_key: str, nonce: str) -> str:
    return hmac.new(secret_key.encode(), b"login-csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def login_nonce(request: Request) -> str:
    """The visitor's sign-in nonce: the one in their cookie (several tabs keep working), or a new one."""
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not nonce or len(nonce) > 100:
        nonce = secrets.token_urlsafe(32)
    return nonce


def login_form_token(secret_key: str, nonce: str) -> str:
    """What the sign-in form submits as ``csrf_token``."""
    return _sign(secret_key, nonce)


def remember_login_nonce(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        max_age=LOGIN_CSRF_MAX_AGE,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def check_login_csrf(request: Request, submitted: str | None, secret_key: str) -> bool:
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not nonce or not submitted:
        return False
    return hmac.compare_digest(_sign(secret_key, nonce), submitted)
