"""A message that tells a person which call to make names a call that exists.

Error messages and docstrings point people at routes ("have your identity checked at a
counter (POST /api/v1/sharing/residents/links)"); one named a route that never existed. Every
"METHOD /api/v1/…" written in the source must be an operation of the running API.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

import onecity

NAMED = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/v1/[A-Za-z0-9_/{}.-]*[A-Za-z0-9_}])")


def _named_routes() -> dict[tuple[str, str], list[str]]:
    root = Path(onecity.__file__).parent
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for method, route in NAMED.findall(line):
                found.setdefault((method, route), []).append(f"{path.relative_to(root.parent)}:{n}")
    return found


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def test_every_route_named_in_the_source_exists(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = [(m.upper(), _pattern(p)) for p, item in spec["paths"].items() for m in item]
    named = _named_routes()
    assert ("POST", "/api/v1/auth/token") in named  # the pattern finds what is there
    missing = {
        f"{method} {route}": where
        for (method, route), where in named.items()
        if not any(m == method and pattern.match(route) for m, pattern in operations)
    }
    assert not missing, f"named but not served: {missing}"
