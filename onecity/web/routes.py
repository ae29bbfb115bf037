"""Web pages: the routers, the static assets and HTML error pages, attached to the app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from onecity.credentials import pages as credentials
from onecity.hub.catalogue import pages as catalogue
from onecity.hub.geography import pages as divisions
from onecity.hub.sharing import pages as sharing
from onecity.ops import pages as ops
from onecity.sensing import pages as sensing
from onecity.services import pages as services
from onecity.web import errors
from onecity.web.pages import account, audit, home, my_data, prefs, users

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        home,
        prefs,
        account,
        users,
        audit,
        divisions,
        catalogue,
        sharing,
        my_data,
        credentials,
        ops,
        services,
        sensing,
    ):
        app.include_router(module.router)
    errors.install(app)
