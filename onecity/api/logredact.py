"""Keep secrets sent in URLs out of the logs.

Open311 clients send their ``api_key`` in the query string (GeoReport v2 says so), and OAuth
clients sometimes send ``access_token`` there. Uvicorn's access log writes every request's
full path with its query, so without this filter a log file, and whoever reads it, holds
working keys. :class:`RedactSecrets` rewrites such parameters' values to ``[redacted]`` in
each record's message and arguments before any handler formats it; :func:`install` puts it
on uvicorn's loggers. The platform's own log lines name a request by its path, never its
query (``problems.py`` logs ``request.url.path``), so they need no filter.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: Query parameters whose values are credentials.
SECRET_PARAMS = (
    "api_key",
    "apikey",
    "api-key",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "secret",
    "client_secret",
    "password",
    "key",
)
_SECRET = re.compile(
    r"(?P<name>(?:^|[?&;\s])(?:" + "|".join(re.escape(p) for p in SECRET_PARAMS) + r")=)(?P<value>[^&;\s\"']*)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn")


def redact(text: str) -> str:
    """``/x?api_key=oc_1_s&y=1`` → ``/x?api_key=[redacted]&y=1``; other text unchanged."""
    if "=" not in text:
        return text
    return _SECRET.sub(lambda m: m.group("name") + (REDACTED if m.group("value") else ""), text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Attach the filter to the loggers that name request URLs (idempotent).

    A filter on a logger survives uvicorn's ``dictConfig`` (which replaces handlers, not
    filters), so installing it when the app is made covers ``onecity serve`` and the demo.
    """
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
