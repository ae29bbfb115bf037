"""The server reports ready only after every part's start-up step has finished.

uvicorn accepts connections only once the app answers ``lifespan.startup.complete``; with
several workers the kernel queues connections until a worker accepts. So if that message
waits for the warm-ups (the grid index, the gazetteer), no request ever pays for them — the
first Open311 report after a start used to wait 10–16 s for an index built by the request.
This drives the ASGI lifespan protocol the way uvicorn does, with a start-up step that holds
until the test lets it go: no timing, only order.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from starlette.types import Message

from onecity.api.app import create_app
from onecity.core import parts
from onecity.core.config import Settings
from onecity.core.db import Database

#: Set by the held step when it starts; it finishes only once ``RELEASE`` is set.
STARTED = threading.Event()
RELEASE = threading.Event()


def held_step(_db: Database, stopping: threading.Event) -> None:
    """A warm-up that lasts until the test releases it (or the server stops)."""
    STARTED.set()
    while not RELEASE.wait(0.05):
        if stopping.is_set():
            return


def test_startup_completes_only_after_every_warm_up(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    STARTED.clear()
    RELEASE.clear()
    steps = [*parts.startup(), f"{__name__}:held_step"]  # the real warm-ups, then the held one
    monkeypatch.setattr(parts, "startup", lambda: steps)
    app = create_app(settings, db=db)

    async def scenario() -> list[str]:
        said: list[str] = []
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        complete = asyncio.Event()

        async def receive() -> dict[str, Any]:
            return await inbox.get()

        async def send(message: Message) -> None:
            said.append(message["type"])
            if message["type"] == "lifespan.startup.complete":
                complete.set()

        await inbox.put({"type": "lifespan.startup"})
        server = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))
        await asyncio.to_thread(STARTED.wait, 120)  # the real warm-ups are done, the held one runs
        assert STARTED.is_set()
        await asyncio.sleep(0)  # let the lifespan run on as far as it would
        assert "lifespan.startup.complete" not in said, "ready while a warm-up was still running"
        said.append("released")
        RELEASE.set()
        await asyncio.wait_for(complete.wait(), 120)
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(server, 60)
        return said

    said = asyncio.run(scenario())
    assert said.index("released") < said.index("lifespan.startup.complete") < said.index("lifespan.shutdown.complete")
