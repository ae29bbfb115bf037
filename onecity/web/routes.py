"""Web pages: every installed part's page routers, the static assets and HTML error pages."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from onecity.core import parts
from onecity.web import errors

STATIC = Path(__file__).parent / "static"
#: ES modules (the base map) must be served as JavaScript; Python before 3.12 knows .mjs only from /etc/mime.types.
mimetypes.add_type("text/javascript", ".mjs")


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in parts.import_all("pages"):
        app.include_router(module.router)
    errors.install(app)
