"""Server-rendered pages (Jinja2), in Chinese and English, and their static assets."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Attach the web pages and /static to ``app``."""
    from onecity.web.routes import install

    install(app)
