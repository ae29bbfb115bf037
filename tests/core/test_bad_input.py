"""Bad input at every endpoint gets a 4xx problem+json, never a 500.

The operations are read from the app's own OpenAPI document, so a new endpoint is covered
the day it is added. Each is called by a signed-in municipal administrator (so requests get
past authentication into validation and the service functions) with mutated bodies, query
parameters and path ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.testclient import TestClient

from onecity.core.identity.roles import Role
from tests.web_support import app_of

NASTY_STRINGS = [
    "",
    " ",
    "x" * 5000,
    "'; DROP TABLE users; --",
    "\x00\x01",
    "../../etc/passwd",
    "🏙️中文",
    "%",
    "_",
    "31010",
    "999999999999",
    "2026-13-45T99:99:99",
]
NASTY_VALUES: list[Any] = [None, -1, 0, 10**30, 1.5, True, [], {}, ["a"], {"a": 1}, *NASTY_STRINGS]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
    return schema


WRONG_TYPE: list[Any] = [None, 0, 1.5, True, [], {}, "x"]


def _types(spec: dict[str, Any], prop: dict[str, Any]) -> set[str]:
    """The JSON types a property accepts (``anyOf``/``oneOf`` and ``$ref`` followed)."""
    prop = _resolve(spec, prop)
    found = {prop["type"]} if isinstance(prop.get("type"), str) else set(prop.get("type") or ())
    for alt in (*prop.get("anyOf", ()), *prop.get("oneOf", ())):
        found |= _types(spec, alt)
    if "enum" in prop and not found:
        found.add("string")
    return found - {"null"}


def _values_for(types: set[str]) -> list[Any]:
    """Nasty values of the field's own type (they reach the service functions), plus one of
    each other type (they must stop at validation). An untyped field gets every value."""
    if not types:
        return NASTY_VALUES
    values: list[Any] = list(WRONG_TYPE)
    if "string" in types:
        values += NASTY_STRINGS
    if types & {"integer", "number"}:
        values += [-1, 10**30, -(10**30), 1e308]
    if types & {"array", "object"}:
        values += [["a"], {"a": 1}, [None], [{"a": [1]}], {"": ""}]
    return values


def _bodies(spec: dict[str, Any], op: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    content = op.get("requestBody", {}).get("content", {})
    yield "raw", b"{not json"
    yield "json", []
    yield "json", "a string"
    yield "json", {}
    for media, body in content.items():
        schema = _resolve(spec, body["schema"])
        props = schema.get("properties", {})
        for field, prop in props.items():
            for value in _values_for(_types(spec, prop)):
                if media == "application/json":
                    yield "json", {field: value}
                else:
                    yield "form", {field: str(value)}


def _assert_actionable_error(path: str, r: Any) -> None:
    """problem+json with a detail; Open311 keeps its own error list, which its clients parse."""
    if path.startswith("/open311/"):
        if r.headers["content-type"].startswith("application/json"):
            assert r.json()[0]["description"], path
        else:
            assert "<description>" in r.text, path
        return
    assert r.headers["content-type"].startswith("application/problem+json"), path
    assert r.json()["detail"], path


def test_no_endpoint_answers_bad_input_with_a_server_error(
    client: TestClient,
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
) -> None:
    make_user("admin.city", Role.ADMIN, Role.AUDITOR, Role.DATA_STEWARD, division_code="310000000000")
    headers = login("admin.city")
    spec = client.get("/openapi.json").json()
    calls = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            path_ids = ["00000000-0000-0000-0000-000000000000", "x" * 300, "%2e%2e", "1 OR 1=1"]
            for n, pid in enumerate(path_ids):
                concrete = re.sub(r"\{[^}]+\}", pid, path)
                # every mutated body once, with the first id; the other ids only need to reach the
                # route's id parsing, which does not depend on the body (this halves the test's time)
                bodies = _bodies(spec, op) if n == 0 else iter([("json", {})])
                for kind, body in bodies:
                    if kind == "raw":
                        r = client.request(
                            method.upper(),
                            concrete,
                            content=body,
                            headers={**headers, "Content-Type": "application/json"},
                        )
                    elif kind == "json":
                        r = client.request(method.upper(), concrete, json=body, headers=headers)
                    else:
                        r = client.request(method.upper(), concrete, data=body, headers=headers)
                    calls += 1
                    assert r.status_code < 500, f"{method.upper()} {concrete} {kind} {body!r:.80} -> {r.text[:300]}"
                    if r.status_code >= 400:
                        _assert_actionable_error(concrete, r)
                if "{" not in path:
                    break
            for param in op.get("parameters", []):
                if param["in"] != "query":
                    continue
                for value in NASTY_STRINGS:
                    concrete = re.sub(r"\{[^}]+\}", path_ids[0], path)
                    r = client.request(method.upper(), concrete, params={param["name"]: value}, headers=headers)
                    calls += 1
                    assert r.status_code < 500, f"{method.upper()} {concrete}?{param['name']}={value!r:.40}"
    assert calls > 500


def test_validation_problem_names_the_field(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("admin.city", Role.ADMIN, division_code="310000000000")
    r = client.post(
        "/api/v1/agencies",
        headers=login("admin.city"),
        json={"code": "ok-code", "name": "名", "name_en": "n", "division_code": "3101"},
    )
    assert r.status_code == 422
    body = r.json()
    assert body["status"] == 422 and body["title"] == "Invalid input"
    assert [e["field"] for e in body["errors"]] == ["division_code"]
    r = client.post(
        "/api/v1/agencies",
        headers=login("admin.city"),
        json={"code": "ok-code", "name": "名", "name_en": "n", "division_code": "310199000000"},
    )
    assert r.status_code == 422 and "does not exist" in r.json()["detail"]


def test_oversized_body_is_413_before_it_is_read(client: TestClient) -> None:
    limit = app_of(client).state.settings.max_body_bytes
    r = client.post(
        "/api/v1/auth/token", content=b"x" * (limit + 1), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert "MiB" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // (1024 * 1024) + 2):
            yield b"y" * (1024 * 1024)

    r = client.post(
        "/api/v1/auth/token", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 413


DEEP = b"[" * 50_000 + b"]" * 50_000


def test_deeply_nested_json_is_refused_before_parsing_and_authentication(client: TestClient) -> None:
    """50,000 nested brackets used to reach json.loads before authentication and fail as a 500."""
    spec = client.get("/openapi.json").json()
    tried = 0
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in item:
            if method not in {"post", "put", "patch", "delete"}:
                continue
            for ctype in ("application/json", "application/merge-patch+json", None):
                headers = {"Content-Type": ctype} if ctype else {}
                r = client.request(method.upper(), concrete, content=DEEP, headers=headers)
                tried += 1
                # anonymous, yet 400 and not 401: refused before anything looked at who is asking
                assert r.status_code == 400, f"{method.upper()} {concrete} {ctype} -> {r.status_code} {r.text[:200]}"
                assert r.headers["content-type"] == "application/problem+json"
                assert "64 levels" in r.json()["detail"]
    assert tried > 100
    # a SensorThings client that labels its JSON as text is parsed with the same bound
    r = client.post("/sta/v1.1/Things", content=DEEP, headers={"Content-Type": "text/plain"})
    assert r.status_code == 422 and "64 levels" in r.json()["detail"]


def test_json_depth_is_measured_without_parsing() -> None:
    from onecity.api.limits import MAX_JSON_DEPTH, json_depth

    assert json_depth(b'{"a": [1, 2, {"b": [3]}]}', stop_at=0) == 4
    assert json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', stop_at=0) == 1
    assert json_depth(b'["\\"[[[[", [[]]]', stop_at=0) == 3  # an escaped quote does not end the string
    assert json_depth(DEEP) == 50_000
    # a wide, shallow document (a dataArray of 200,000 rows) is not too deep, and is measured quickly
    wide = b'[{"dataArray": [' + b",".join([b'["2026-01-01T00:00:00Z", 1.5]'] * 200_000) + b"]}]"
    assert json_depth(wide) == 4 <= MAX_JSON_DEPTH
