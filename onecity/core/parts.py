"""What each part of the platform contributes, declared in one place: its manifest.

A part (the data hub's catalogue, government services, urban operations…) is a package
with a ``part.py`` holding one :class:`Part`. It names, as dotted module paths, what the part
adds to the platform: tables, API routers, pages, commands, event consumers, simulation
actors, periodic tasks, words and navigation links. The platform's entry points (the app
factory, the ``onecity`` command, the migration environment, the simulation) ask
:func:`installed` for the parts and take from each what they need, so adding a part touches
the list of parts and the new package only.

The list itself lives outside core, in the module named by :data:`MANIFEST_MODULE`
(``onecity/parts.py``); core reads it by name on first use and never imports a part.
Manifests hold names rather than objects so that reading one imports nothing heavy: the
``onecity`` command starts without loading every part's web stack, and a part's pages may
import platform modules that themselves read the manifests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

#: The module whose ``PARTS`` lists the deployment's parts, in order.
MANIFEST_MODULE = "onecity.parts"

#: The kinds of module a part lists; each is imported by the platform entry point that uses it.
ModuleKind = Literal["models", "api", "routes", "pages", "commands", "consumers", "actors"]
MODULE_KINDS: tuple[ModuleKind, ...] = ("models", "api", "routes", "pages", "commands", "consumers", "actors")


@dataclass(frozen=True)
class NavItem:
    """One link of the navigation bar."""

    #: Words key of the link's text (in the part's words).
    key: str
    path: str
    #: Policy action the visitor must be allowed for the link to show; ``None``: everyone.
    action: str | None
    #: Place in the bar, lower first; the bar interleaves parts (the platform's home is 0, its audit log 100).
    order: int


@dataclass(frozen=True)
class PeriodicTask:
    """Work the server does on its own: sweep the operations clocks, trim tables, relay the outbox.

    ``run`` names a function ``f(ctx: TaskContext) -> object``. A plain function is one
    round, called every ``every_seconds`` in a worker thread; a coroutine function runs
    for the life of the server (the outbox relay, woken by commits) and is cancelled at
    shutdown. ``warm`` names a function ``f() -> object`` for slow one-off preparation (an
    index built in seconds): it runs once, in a daemon thread of its own, so shutdown
    never waits for it.
    """

    name: str
    run: str
    every_seconds: float = 60.0
    warm: str | None = None


@dataclass(frozen=True)
class Part:
    """One part's manifest: every contribution, as dotted module paths.

    Each ``models`` module registers tables on ``Base.metadata`` when imported; each ``api``
    module has a ``router`` mounted under ``/api/v1``; each ``routes`` module a ``router``
    mounted at its own paths (a standard's, like ``/sta/v1.1``); each ``pages`` module a
    ``router`` of HTML pages; each ``commands`` module ``add_commands(subparsers)``; each
    ``consumers`` module registers event consumers when imported; each ``actors`` module
    ``actors(scale) -> list[Actor]``; ``words`` is a module with ``MESSAGES`` (``{"zh": {…},
    "en": {…}}``, the same keys in both).
    """

    name: str
    #: The package the part lives in; its modules named above are expected inside it.
    package: str
    models: tuple[str, ...] = ()
    api: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    tasks: tuple[PeriodicTask, ...] = ()
    #: ``"package.module:function"`` names of ``f(db, stop) -> object``: slow preparation the
    #: server finishes before it reports ready (an index every request needs), each in a worker
    #: thread; ``stop`` (a ``threading.Event``) is set when the server stops meanwhile.
    startup: tuple[str, ...] = ()
    words: str | None = None
    navigation: tuple[NavItem, ...] = ()
    #: A module that gives the base map roads: ``lines(session)`` (lon/lat centre lines, each with
    #: ``name``, ``name_en`` and ``kind``) and ``version(session)`` (any value that changes when the
    #: lines do). The hub's geography draws them without importing the part (traffic: its network).
    roads: str | None = None
    #: ``"package.module:function"`` of ``f(session, person_id) -> user id | None``: the account linked
    #: to a registry person. Notifications find whom to tell through it without importing the part
    #: (sharing: its resident links).
    accounts: str | None = None

    def modules(self, kind: ModuleKind) -> tuple[str, ...]:
        modules: tuple[str, ...] = getattr(self, kind)
        return modules


_override: tuple[Part, ...] | None = None


def installed() -> tuple[Part, ...]:
    """The deployment's parts, in order (``PARTS`` of :data:`MANIFEST_MODULE`, unless :func:`using` says otherwise)."""
    if _override is not None:
        return _override
    listed: Sequence[Part] = importlib.import_module(MANIFEST_MODULE).PARTS
    return tuple(listed)


@contextmanager
def using(parts: Sequence[Part]) -> Iterator[tuple[Part, ...]]:
    """Run with ``parts`` installed instead of the deployment's list (tests: an example part beside the real ones)."""
    global _override
    before, _override = _override, tuple(parts)
    try:
        yield _override
    finally:
        _override = before


def modules(kind: ModuleKind, parts: Sequence[Part] | None = None) -> list[str]:
    """Every module of ``kind`` the installed parts list, in the parts' order."""
    return [m for part in (installed() if parts is None else parts) for m in part.modules(kind)]


def import_all(kind: ModuleKind, parts: Sequence[Part] | None = None) -> list[Any]:
    """Import every module of ``kind`` (registering what importing them registers) and return them."""
    return [importlib.import_module(m) for m in modules(kind, parts)]


def resolve(target: str) -> Callable[..., Any]:
    """The function a ``"package.module:function"`` name points at."""
    module, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"{target!r} should read 'package.module:function'")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return fn


def tasks(parts: Sequence[Part] | None = None) -> list[PeriodicTask]:
    """Every periodic task of the installed parts; names are unique across the deployment."""
    out = [t for part in (installed() if parts is None else parts) for t in part.tasks]
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise ValueError(f"two periodic tasks share a name: {sorted({n for n in names if names.count(n) > 1})}")
    return out


def startup(parts: Sequence[Part] | None = None) -> list[str]:
    """Every start-up step of the installed parts, in the parts' order."""
    return [s for part in (installed() if parts is None else parts) for s in part.startup]


def navigation(parts: Sequence[Part] | None = None) -> list[NavItem]:
    """The navigation bar's links from every installed part, in their declared order."""
    return sorted(
        (n for part in (installed() if parts is None else parts) for n in part.navigation), key=lambda n: n.order
    )


def roads(parts: Sequence[Part] | None = None) -> list[Any]:
    """The road modules of the installed parts (:attr:`Part.roads`), imported, in the parts' order."""
    return [importlib.import_module(p.roads) for p in (installed() if parts is None else parts) if p.roads]


def account_finders(parts: Sequence[Part] | None = None) -> list[Callable[..., Any]]:
    """The functions that find a person's linked account (:attr:`Part.accounts`), in the parts' order."""
    return [resolve(p.accounts) for p in (installed() if parts is None else parts) if p.accounts]


def words(parts: Sequence[Part] | None = None) -> list[dict[str, dict[str, str]]]:
    """Each installed part's words catalogue (``MESSAGES`` of its ``words`` module)."""
    out: list[dict[str, dict[str, str]]] = []
    for part in installed() if parts is None else parts:
        if part.words is not None:
            out.append(importlib.import_module(part.words).MESSAGES)
    return out
