"""A small HTTP/1.1 load generator: N keep-alive connections, each one request in flight.

Written on asyncio protocols (not httpx) because on a two-core machine the client shares
the CPU with the server it measures: httpx spends several times more CPU per request than
uvicorn does answering it, and would measure itself. The protocol parses only what the
servers under test send (a status line, headers, a ``Content-Length`` body) and refuses
anything else loudly rather than miscount.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, cast

from bench._common import percentile


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)
    statuses: dict[int, int]
    client_cpu_seconds: float

    def figures(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        ok = sum(n for s, n in self.statuses.items() if 200 <= s < 300)
        return {
            "req_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(percentile(lat, 50) * 1000, 2),
            "p99_ms": round(percentile(lat, 99) * 1000, 2),
            "requests": self.requests,
            "non_2xx": self.requests - ok,
        }


def build_request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "User-Agent: onecity-bench"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection sending the same request again as soon as the answer is in."""

    def __init__(self, request: bytes, run: _Run) -> None:
        self.request, self.run = request, run
        self.buf = bytearray()
        self.sent_at = 0.0
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if time.perf_counter() >= self.run.end:
            self.transport.close()
            return
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        try:
            self._parse()
        except Exception as err:  # surface it to load(), which would otherwise wait for ever
            if not self.closed.done():
                self.closed.set_exception(err)
            assert self.transport is not None
            self.transport.close()

    def _parse(self) -> None:
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(self.buf[:head_end]).decode("latin-1").split("\r\n")
            length = None
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding":
                    raise RuntimeError("the load generator reads Content-Length bodies only, not chunked ones")
            if length is None:
                raise RuntimeError(f"response without Content-Length: {head[0]}")
            total = head_end + 4 + length
            if len(self.buf) < total:
                return
            del self.buf[:total]
            self.run.record(int(head[0].split(" ", 2)[1]), time.perf_counter() - self.sent_at)
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed.done():
            return
        if exc is None and time.perf_counter() < self.run.end:
            exc = ConnectionError("the server closed a keep-alive connection during the run")
        if exc is None:
            self.closed.set_result(None)
        else:
            self.closed.set_exception(exc)


class _Run:
    def __init__(self, start_measuring: float, end: float) -> None:
        self.start_measuring, self.end = start_measuring, end
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    def record(self, status: int, latency: float) -> None:
        now = time.perf_counter()
        if self.start_measuring <= now <= self.end:
            self.latencies.append(latency)
            self.statuses[status] = self.statuses.get(status, 0) + 1


async def load(port: int, request: bytes, *, connections: int, seconds: float, warmup: float) -> LoadResult:
    """Keep ``connections`` requests in flight for ``warmup + seconds``; count only the last ``seconds``."""
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    run = _Run(t0 + warmup, t0 + warmup + seconds)
    cpu0 = time.process_time()
    conns = []
    for _ in range(connections):
        _, proto = await loop.create_connection(lambda: _Connection(request, run), "127.0.0.1", port)
        conns.append(proto)
    try:
        await asyncio.wait_for(asyncio.gather(*(c.closed for c in conns)), warmup + seconds + 60)
    finally:
        for c in conns:
            if c.transport is not None:
                c.transport.close()
    measured = min(time.perf_counter(), run.end) - run.start_measuring
    return LoadResult(
        requests=len(run.latencies),
        seconds=measured,
        latencies=run.latencies,
        statuses=run.statuses,
        client_cpu_seconds=time.process_time() - cpu0,
    )
