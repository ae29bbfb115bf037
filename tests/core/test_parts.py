"""Every part declares what it adds in its manifest, the platform finds it there, and periodic tasks stop promptly.

The example part (``tests/core/example_part``) is what the development guide shows: a table,
an API route, a page with its own template, a command, an event consumer, a periodic task,
words and a navigation link, discovered by listing its manifest beside the real parts.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Table

import onecity
from onecity import cli
from onecity.core import parts, policy
from onecity.core.bus.consumers import registered
from onecity.core.bus.memory import MemoryBus
from onecity.core.config import Settings, get_settings
from onecity.core.db import Base, Database
from onecity.core.identity.models import User
from onecity.core.identity.roles import PrincipalKind
from onecity.core.migrate import import_all_models
from onecity.core.parts import ModuleKind, Part, PeriodicTask
from onecity.core.tasks import TaskContext, TaskRunner
from onecity.parts import PARTS
from onecity.web import i18n
from tests.conftest import PASSWORD
from tests.core.example_part import consumers as example_consumers
from tests.core.example_part import tasks as example_tasks
from tests.core.example_part.part import PART as EXAMPLE

#: A module with one of these names inside a part's package must be listed in its manifest.
CONVENTIONAL: dict[str, ModuleKind] = {
    "models.py": "models",
    "api.py": "api",
    "pages.py": "pages",
    "cli.py": "commands",
    "consumers.py": "consumers",
    "sim.py": "actors",
}


def _package_dir(part: Part) -> Path:
    return Path(importlib.import_module(part.package).__file__ or "").parent


@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.name)
def test_every_part_is_complete(part: Part) -> None:
    """What a manifest names exists and has the expected shape, and nothing conventional is left out."""
    import_all_models()
    for kind in parts.MODULE_KINDS:
        for name in part.modules(kind):
            assert name == part.package or name.startswith(part.package + "."), (part.name, name)
            module = importlib.import_module(name)
            if kind in ("api", "routes", "pages"):
                assert isinstance(module.router, APIRouter), name
            elif kind == "commands":
                assert callable(module.add_commands), name
            elif kind == "actors":
                assert callable(module.actors), name
            elif kind == "models":
                mapped = [
                    v for v in vars(module).values() if isinstance(v, type) and issubclass(v, Base) and v is not Base
                ]
                assert mapped, f"{name} maps no table"
            elif kind == "consumers":
                assert any(c.fn.__module__ == name for c in registered()), f"{name} registers no consumer"
    if part.name != "platform":  # the platform's modules are spread over api/, web/ and core/
        directory = _package_dir(part)
        for filename, kind in CONVENTIONAL.items():
            if (directory / filename).exists():
                assert f"{part.package}.{filename[:-3]}" in part.modules(kind), f"{part.name}: {filename} not in {kind}"
        if (directory / "i18n.py").exists():
            assert part.words == f"{part.package}.i18n", f"{part.name}: its i18n.py is not its words"
    if part.words is not None:
        i18n.check(importlib.import_module(part.words).MESSAGES)
    for task in part.tasks:
        assert callable(parts.resolve(task.run)) and task.every_seconds > 0, task
        if task.warm is not None:
            assert callable(parts.resolve(task.warm)), task
    for step in part.startup:
        assert step.startswith(part.package + ".") and callable(parts.resolve(step)), step
    if part.roads is not None:
        module = importlib.import_module(part.roads)
        assert part.roads.startswith(part.package + ".") and callable(module.lines) and callable(module.version)
    for link in part.navigation:
        assert link.key in i18n.messages("zh") and link.key in i18n.messages("en"), link
        assert link.action is None or link.action in policy.ACTIONS.keys() | policy.SELF_SERVICE, link


def test_every_part_package_is_listed() -> None:
    """A package with a ``part.py`` that the list of parts forgets would be silently absent."""
    listed = {p.package for p in PARTS}
    found = {
        m.name.removesuffix(".part")
        for m in pkgutil.walk_packages(onecity.__path__, "onecity.")
        if m.name.endswith(".part") and not m.ispkg
    }
    assert found and found <= listed, sorted(found - listed)
    assert len({p.name for p in PARTS}) == len(PARTS)
    assert len({n.order for p in PARTS for n in p.navigation}) == sum(len(p.navigation) for p in PARTS)


def test_navigation_keeps_its_order() -> None:
    assert [n.path for n in parts.navigation()] == [
        "/",
        "/admin/users",
        "/divisions",
        "/catalogue",
        "/sharing",
        "/ops",
        "/traffic",
        "/sensing",
        "/me/data",
        "/benefits",
        "/services",
        "/services/counter",
        "/services/work",
        "/services/performance",
        "/benefits/objections",
        "/verify",
        "/audit",
    ]


@pytest.fixture
def example_table(db: Database) -> Iterator[Table]:
    """The example part's table in this test's database (a real part's comes with its migration)."""
    from tests.core.example_part.models import Note

    table = Note.__table__
    assert isinstance(table, Table)
    if table.name not in Base.metadata.tables:  # taken out by this fixture for the other backend
        table.to_metadata(Base.metadata)
    table.create(db.engine)
    try:
        yield table
    finally:
        table.drop(db.engine)
        Base.metadata.remove(Base.metadata.tables[table.name])  # migration drift checks must not see it


def test_an_example_part_is_discovered_from_its_manifest(
    db: Database,
    settings: Settings,
    example_table: Table,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_user("noter", kind=PrincipalKind.CITIZEN, division_code=None)
    with parts.using([*PARTS, EXAMPLE]):
        import_all_models()
        assert Base.metadata.tables[example_table.name] is not None
        assert "example.count-notes" in {c.name for c in registered()}
        assert i18n.translate("en", "example.nav") == "Example"
        from onecity.api.app import create_app

        example_tasks.TICKS.clear()
        example_consumers.HEARD.clear()
        with TestClient(create_app(settings, db=db), raise_server_exceptions=False) as client:
            refused = client.post("/api/v1/example/notes", json={"text": "hello"})
            assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
            token = client.post("/api/v1/auth/token", data={"username": "noter", "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            bad = client.post("/api/v1/example/notes", json={"text": ""}, headers=headers)
            assert bad.status_code == 422
            written = client.post("/api/v1/example/notes", json={"text": "hello"}, headers=headers)
            assert written.status_code == 201, written.text
            assert "示例便笺" in client.get("/example").text  # Chinese by default
            client.cookies.set("lang", "en")
            page = client.get("/example")
            assert page.status_code == 200 and "1 notes" in page.text
            assert 'href="/example"' in page.text and "Example" in page.text  # its navigation link, in words
            for _ in range(200):  # the relay hands the event to the part's consumer
                if written.json()["id"] in example_consumers.HEARD and len(example_tasks.TICKS) >= 2:
                    break
                time.sleep(0.02)
            assert written.json()["id"] in example_consumers.HEARD
            assert len(example_tasks.TICKS) >= 2  # the periodic task runs, round after round
        ticks = len(example_tasks.TICKS)
        time.sleep(0.2)
        assert len(example_tasks.TICKS) == ticks  # and stopped with the server

        monkeypatch.setenv("ONECITY_DATABASE_URL", db.url)
        monkeypatch.setenv("ONECITY_ENV", "test")
        monkeypatch.setenv("ONECITY_SECRET_KEY", settings.secret_key)
        capsys.readouterr()
        get_settings.cache_clear()
        try:
            assert cli.main(["example", "count"]) == 0
        finally:
            get_settings.cache_clear()
        assert capsys.readouterr().out.strip() == "1"
    # listed nowhere else: without the manifest in the list the platform knows nothing of it
    assert "example" not in cli.build_parser().format_help()
    assert "/example" not in [n.path for n in parts.navigation()]


def test_periodic_tasks_stop_promptly_even_while_warming(db: Database, settings: Settings) -> None:
    """Shutdown waits neither for a slow warm-up (the grid index took seconds) nor for a round's sleep."""
    release = threading.Event()
    rounds: list[float] = []
    warm_started = threading.Event()

    def slow_warm() -> None:
        warm_started.set()
        release.wait(30)

    def one_round(ctx: TaskContext) -> None:
        rounds.append(time.monotonic())

    module = type(importlib)("tests_core_slow_tasks")
    vars(module).update(slow_warm=slow_warm, one_round=one_round)
    import sys

    sys.modules[module.__name__] = module
    task = PeriodicTask("slow", f"{module.__name__}:one_round", every_seconds=3600, warm=f"{module.__name__}:slow_warm")

    async def scenario() -> float:
        runner = TaskRunner(TaskContext(db, settings, MemoryBus()), [task])
        runner.start()
        for _ in range(200):
            if rounds and warm_started.is_set():
                break
            await asyncio.sleep(0.01)
        began = time.monotonic()
        await runner.stop()
        return time.monotonic() - began

    try:
        took = asyncio.run(scenario())
    finally:
        release.set()
        del sys.modules[module.__name__]
    assert len(rounds) == 1  # the first round runs at once, the next would be an hour later
    assert took < 1.0, f"stopping took {took:.2f} s"
