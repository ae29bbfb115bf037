"""The server side of ``bench.api_http``: one uvicorn process, as ``onecity serve`` runs it.

``--app onecity`` serves ``create_app(Settings())`` (configured by ``ONECITY_*`` variables);
``--app bare`` serves a FastAPI app with one trivial route, the baseline: whatever the bare
app cannot beat is the cost of uvicorn, the event loop and the client, not of OneCity.
Both run with uvloop and httptools and without the access log (``onecity serve`` logs every
request at ``info``; one log line per request would be measured instead of the platform).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI


def _settings() -> dict[str, str]:
    """The head of /ping-sync's chain; module level, so FastAPI can resolve the string annotations."""
    return {"env": "bench"}


def _session(s: Annotated[dict[str, str], Depends(_settings)]) -> Iterator[dict[str, str]]:
    yield s


def _principal(s: Annotated[dict[str, str], Depends(_session)]) -> str:
    return "bench"


def _required(p: Annotated[str, Depends(_principal)]) -> str:
    return p


def bare_app() -> FastAPI:
    """The smallest FastAPI app that answers JSON, twice over.

    ``/ping`` is an ``async def`` route: the floor. ``/ping-sync`` has the shape of OneCity's
    routes without their work: a plain ``def`` route behind a chain of four plain ``def``
    dependencies (settings, session, principal, required principal), each of which FastAPI
    runs in its thread pool. The gap between the two is what that shape costs by itself.
    """
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ping-sync")
    def ping_sync(
        p: Annotated[str, Depends(_required)], s: Annotated[dict[str, str], Depends(_session)]
    ) -> dict[str, str]:
        return {"status": "ok", "principal": p}

    return app


def onecity_open311_before() -> FastAPI:
    """OneCity's app with Open311's list of requests as it was before paging beside today's
    (``bench/_open311_legacy.py``): ``bench.ops_open311`` times both on the same data."""
    from bench._open311_legacy import router
    from onecity.api.app import create_app
    from onecity.core.config import Settings

    app = create_app(Settings())
    app.include_router(router)
    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--app", choices=("onecity", "onecity-open311-before", "bare"), required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=1, help="processes on the port, as `onecity serve --workers`")
    args = p.parse_args()
    common = {
        "host": "127.0.0.1",
        "port": args.port,
        "loop": "uvloop",
        "http": "httptools",
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": True,
    }
    target = {
        "onecity": "onecity.api.app:create_app",
        "onecity-open311-before": "bench._serve:onecity_open311_before",
        "bare": "bench._serve:bare_app",
    }[args.app]
    if args.workers > 1:  # uvicorn's supervisor: the app by name, made in each worker
        uvicorn.run(target, factory=True, workers=args.workers, **common)
        return
    if args.app == "onecity":
        from onecity.api.app import create_app
        from onecity.core.config import Settings

        app = create_app(Settings())
    elif args.app == "onecity-open311-before":
        app = onecity_open311_before()
    else:
        app = bare_app()
    uvicorn.run(app, **common)


if __name__ == "__main__":
    main()
