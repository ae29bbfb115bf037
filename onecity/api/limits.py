"""Request limits: a body larger than the limit is refused with 413 before it is read, and a
JSON body nested deeper than any document here needs is refused with 400 before it is parsed.

A public endpoint that reads whatever it is sent can be made to run out of memory by one
client. The limit applies to the declared ``Content-Length`` and, for chunked uploads, to
the bytes actually received.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _problem(limit: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps(
        {
            "type": "https://onecity.dev/problems/too-large",
            "title": "Request too large",
            "status": 413,
            "detail": f"the request body is larger than the {limit // (1024 * 1024)} MiB this server accepts; "
            "send a smaller file or split the upload",
        }
    ).encode()
    return body, [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def _refuse(self, send: Send) -> None:
        body, headers = _problem(self.max_bytes)
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # answer now and tell the app the client went away: whatever it does next is dropped
                    if not started and not refused:
                        refused = True
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise


# -- JSON nesting ---------------------------------------------------------------------------------

#: Deepest JSON a request body may nest. Python's parser recurses once per level and fails near
#: 1,000 (a RecursionError, i.e. a 500); nothing the platform accepts nests beyond a dozen
#: (GeoJSON multipolygons are four, a SensorThings deep insert about ten).
MAX_JSON_DEPTH = 64
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
_CHUNK = 1 << 20


def json_depth(body: bytes | str, *, stop_at: int = MAX_JSON_DEPTH) -> int:
    """How deep ``body`` nests its arrays and objects, without parsing it.

    Cheap on large bodies, all in C: escaped backslashes and quotes are dropped, then every
    byte but brackets and quotes (``bytes.translate``); brackets inside strings (after an odd
    number of quotes) do not nest and are dropped in numpy, and the running depth of what is
    left is a cumulative sum, a megabyte at a time (6 MB of dataArray: 0.1 s). A body with at
    most ``stop_at`` brackets cannot nest deeper than that and is not scanned at all. Up to
    the first syntax error this sees the strings the parser sees, so the parser never
    recurses deeper than the answer.
    """
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if raw.count(b"[") + raw.count(b"{") <= stop_at:
        return 0
    structure = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    codes = np.frombuffer(structure, dtype=np.uint8)
    quote = codes == ord('"')
    outside = (np.cumsum(quote, dtype=np.uint8) & 1) == 0  # wraps at 256, keeps the parity
    codes = codes[outside & ~quote]
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int8)
    deepest, carry = 0, 0
    for start in range(0, len(steps), _CHUNK):
        running = np.cumsum(steps[start : start + _CHUNK], dtype=np.int64) + carry
        deepest = max(deepest, int(running.max()))
        carry = int(running[-1])
    return deepest


def too_deep_detail(limit: int = MAX_JSON_DEPTH) -> str:
    return (
        f"the JSON nests arrays and objects more than {limit} levels deep, which nothing here accepts; "
        "send a flatter document"
    )


def loads_bounded(raw: bytes | str, *, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses (``InvalidInput``) instead of recursing without bound."""
    from onecity.core.errors import InvalidInput

    if json_depth(raw, stop_at=limit) > limit:
        raise InvalidInput(too_deep_detail(limit))
    try:
        return json.loads(raw)
    except RecursionError as err:  # pragma: no cover - the depth check comes first
        raise InvalidInput(too_deep_detail(limit)) from err


def _json_like(content_type: bytes | None) -> bool:
    """Bodies a route may read as JSON: declared JSON, or undeclared (FastAPI parses those as JSON)."""
    if not content_type:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


class JsonDepthLimit:
    """Refuse a too deeply nested JSON body with 400 before any route parses it or authenticates.

    FastAPI parses a JSON body before it runs a route's dependencies (authentication among
    them), so 50,000 nested brackets from anyone used to reach ``json.loads`` and fail as a
    500. This middleware reads JSON-like bodies (already bounded by :class:`BodySizeLimit`,
    which wraps it), measures their depth with :func:`json_depth` and hands the same bytes on.
    """

    def __init__(self, app: ASGIApp, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app, self.max_depth = app, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        bodiless = b"transfer-encoding" not in headers and (declared is None or declared == b"0")
        if bodiless or not _json_like(headers.get(b"content-type")):  # HTTP/1.1: no length, no chunks, no body
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away (or the size limit already answered)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body, stop_at=self.max_depth) > self.max_depth:
            problem = json.dumps(
                {
                    "type": "https://onecity.dev/problems/too-deep",
                    "title": "JSON nested too deeply",
                    "status": 400,
                    "detail": too_deep_detail(self.max_depth),
                }
            ).encode()
            answer = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(problem)).encode())]
            await send({"type": "http.response.start", "status": 400, "headers": answer})
            await send({"type": "http.response.body", "body": problem})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
