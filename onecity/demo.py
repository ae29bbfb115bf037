"""The embedded demo: a migrated SQLite city with a few real accounts to sign in with.

Passwords are random, made on the first run and kept in ``var/demo-credentials.json``
(readable by the owner only), so even a demo never ships a password anyone could guess.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from onecity.core import clock, migrate
from onecity.core.config import ENV_FILE_NAME, Settings
from onecity.core.db import Database
from onecity.core.divisions import MUNICIPALITY_CODE
from onecity.core.identity import service
from onecity.core.identity.models import Agency, User
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role

log = logging.getLogger(__name__)

XUHUI = "310104000000"
TIANPINGLU = "310104003000"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    roles: tuple[Role, ...]
    agency: str
    division: str
    description: str
    #: The name the pages show for the account (the desk, in Chinese: the demo is a Shanghai office).
    name: str = ""


AGENCIES = [
    ("sh-bdc", "上海市大数据中心", "Shanghai Big Data Center", MUNICIPALITY_CODE),
    ("xh-gov", "徐汇区人民政府办公室", "Xuhui District Government Office", XUHUI),
]

ACCOUNTS = [
    DemoAccount(
        "admin", (Role.ADMIN,), "sh-bdc", MUNICIPALITY_CODE, "municipal administrator", "市级管理员（市大数据中心）"
    ),
    DemoAccount(
        "auditor", (Role.AUDITOR,), "sh-bdc", MUNICIPALITY_CODE, "municipal auditor", "市级审计员（市大数据中心）"
    ),
    DemoAccount("xuhui.admin", (Role.ADMIN,), "xh-gov", XUHUI, "Xuhui district administrator", "徐汇区管理员"),
    DemoAccount(
        "xuhui.clerk", (Role.COUNTER_CLERK,), "xh-gov", TIANPINGLU, "counter clerk, Tianpinglu", "天平路街道综合窗口"
    ),
    # government services: the market regulation officers who review and decide in Xuhui
    DemoAccount(
        "samr.clerk",
        (Role.COUNTER_CLERK,),
        "sh-samr",
        XUHUI,
        "market regulation counter clerk, Xuhui",
        "徐汇区市场监管局受理窗口",
    ),
    DemoAccount(
        "samr.reviewer",
        (Role.REVIEWER,),
        "sh-samr",
        XUHUI,
        "market regulation reviewer, Xuhui",
        "徐汇区市场监管局审核员",
    ),
    DemoAccount(
        "samr.approver",
        (Role.APPROVER,),
        "sh-samr",
        XUHUI,
        "market regulation approver, Xuhui",
        "徐汇区市场监管局审批员",
    ),
    # urban operations: the three levels of operation centres, the hotline, the grid and a disposal unit
    DemoAccount("city.operator", (Role.OPERATOR,), "sh-bdc", MUNICIPALITY_CODE, "city operation centre", "市城运中心"),
    DemoAccount(
        "xuhui.operator", (Role.OPERATOR, Role.DISPATCHER), "xh-gov", XUHUI, "Xuhui operation centre", "徐汇区城运中心"
    ),
    DemoAccount(
        "tianpinglu.operator",
        (Role.OPERATOR, Role.DISPATCHER),
        "xh-gov",
        TIANPINGLU,
        "Tianpinglu operation centre",
        "天平路街道城运中心",
    ),
    DemoAccount(
        "hotline", (Role.DISPATCHER,), "sh-bdc", MUNICIPALITY_CODE, "12345 hotline call-taker", "12345热线话务员"
    ),
    DemoAccount(
        "tianpinglu.inspector",
        (Role.INSPECTOR,),
        "xh-gov",
        TIANPINGLU,
        "grid inspector, Tianpinglu",
        "天平路街道网格员",
    ),
    DemoAccount(
        "tianpinglu.sanitation",
        (Role.OPERATOR,),
        "ops-310104003-sanitation",
        TIANPINGLU,
        "sanitation unit, Tianpinglu",
        "天平路街道环卫作业单位",
    ),
]

#: A resident to try the citizen portal with, linked (once the city is seeded) to the legal
#: representative of a Xuhui firm holding a business licence: the food-licence walk-through.
RESIDENT = "resident"


DEMO_SCALE = 0.001
DEMO_SEED = 1
#: Share of machine-readable uploads the demo's applicants make as printed scans: each is read
#: by OCR in the server (1–3 s of a core), and at the demo's speed every scan would be more
#: than the laptop's two cores could read; the rest are PDFs that officers check.
DEMO_SCAN_SHARE = 0.05
#: Rest between the simulation's actors: SQLite has one writer, and a request waiting for it
#: retries on a back-off of up to 100 ms, so back-to-back transactions could keep it waiting.
DEMO_PAUSE_SECONDS = 0.05


def prepare_city(db: Database) -> None:
    """Seed the demo city unless it is there, and link the demo resident (before the server answers)."""
    from onecity.sim.cli import ensure_city

    ensure_city(db, DEMO_SCALE, DEMO_SEED)
    link_resident(db)


def start_simulation(db: Database, *, speed: float) -> threading.Event:
    """Keep the (seeded, see :func:`prepare_city`) demo city living in a background thread; set
    the event to stop.

    The simulation runs beside the server without moving the platform clock (people's
    sessions expire in real time); records carry real timestamps. Its simulated officers work
    only the simulation's own cases: what a person starts waits for the demo's officers.
    Between actors it rests a moment, so a request waiting for SQLite's one writer gets it.
    """
    from onecity.sim import actors
    from onecity.sim.engine import Simulation
    from onecity.synth.actors.services import ServicesActor

    stop = threading.Event()
    cast = actors.build(DEMO_SCALE)
    for actor in cast:
        if isinstance(actor, ServicesActor):
            actor.scan_share = DEMO_SCAN_SHARE
            actor.leave_to_people = True
    sim = Simulation(
        db,
        cast,
        start=clock.now(),
        seed=int(clock.now().timestamp()),
        speed=speed,
        drive_clock=False,
        progress=lambda _msg: None,
        pause=DEMO_PAUSE_SECONDS,
    )

    def _run() -> None:
        try:
            sim.run(float("inf"), should_stop=stop.is_set)
        except Exception:  # the demo server keeps serving if its simulation stops
            log.exception("the demo simulation stopped")

    threading.Thread(target=_run, name="demo-simulation", daemon=True).start()
    return stop


#: What the demo asks of itself before it says it is ready: the pages people open first answer 200.
READY_PATHS = ("/api/v1/health", "/", "/services", "/login")


def wait_until_answering(base_url: str, *, timeout: float = 300.0, is_running: Callable[[], bool]) -> bool:
    """Poll ``READY_PATHS`` until each answers 200 (True), the server stops, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    pending = list(READY_PATHS)
    while pending and time.monotonic() < deadline and is_running():
        try:
            with urllib.request.urlopen(base_url.rstrip("/") + pending[0], timeout=10) as answer:
                if answer.status == 200:
                    pending.pop(0)
                    continue
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    return not pending


#: The first line of the env file the demo writes; a file without it is a person's own and stays as it is.
ENV_FILE_MARK = "# written by `onecity demo`"


def write_env_file(directory: Path, settings: Settings, public_url: str | None) -> Path | None:
    """Write ``onecity.env`` in ``directory``, so ``onecity`` commands run there or below find the
    demo's database (:func:`onecity.core.config.find_env_file`); None where one of a person's own is."""
    path = directory / ENV_FILE_NAME
    if path.exists() and not path.read_text(encoding="utf-8").startswith(ENV_FILE_MARK):
        return None
    lines = [
        ENV_FILE_MARK + ": settings for `onecity` commands run in this directory or below it",
        "ONECITY_ENV=demo",
        f"ONECITY_VAR_DIR={settings.var_dir}",
        f"ONECITY_DATABASE_URL={settings.database_url}",
    ]
    if public_url:
        lines.append(f"ONECITY_PUBLIC_URL={public_url}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def link_resident(db: Database) -> None:
    """Link the demo resident's account to a Xuhui firm's legal representative, once (audited)."""
    from onecity.hub.registries.models import Certificate, CertificateStatus, LegalPerson, Person
    from onecity.hub.sharing.models import ResidentLink
    from onecity.hub.sharing.service import link_resident as link

    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == RESIDENT))
        if user is None or session.get(ResidentLink, user.id) is not None:
            return
        id_number = session.scalar(
            select(Person.id_number)
            .join(LegalPerson, LegalPerson.legal_rep_id == Person.id)
            .join(Certificate, Certificate.holder_id == LegalPerson.id)
            .where(
                LegalPerson.division_code.startswith(XUHUI[:6]),
                Certificate.holder_kind == "legal_person",
                Certificate.type_code == "business_licence",
                Certificate.status == CertificateStatus.VALID,
                Person.id.not_in(select(ResidentLink.person_id)),
            )
            .order_by(LegalPerson.id)
            .limit(1)
        )
        if id_number is not None:
            link(session, system_principal("demo-setup"), username=RESIDENT, id_number=id_number)


def prepare(db: Database, var_dir: Path) -> dict[str, str]:
    """Migrate, create the demo agencies and accounts if missing; returns username → password."""
    migrate.upgrade(db)
    creds_path = var_dir / "demo-credentials.json"
    creds: dict[str, str] = json.loads(creds_path.read_text()) if creds_path.exists() else {}
    actor = system_principal("demo-setup")
    from onecity.ops.units import install_units
    from onecity.services.service import install_departments

    with db.transaction() as session:
        install_departments(session, actor)
        install_units(session, actor)
    with db.transaction() as session:
        for code, name, name_en, division in AGENCIES:
            if session.scalar(select(Agency.id).where(Agency.code == code)) is None:
                service.create_agency(session, actor, code=code, name=name, name_en=name_en, division_code=division)
        for acc in ACCOUNTS:
            if session.scalar(select(User.id).where(User.username == acc.username)) is not None:
                continue
            password = creds.get(acc.username) or f"demo-{secrets.token_hex(6)}"
            service.create_user(
                session,
                actor,
                username=acc.username,
                password=password,
                kind=PrincipalKind.STAFF,
                roles=list(acc.roles),
                agency_code=acc.agency,
                division_code=acc.division,
                display_name=acc.name or acc.description,
            )
            creds[acc.username] = password
        if session.scalar(select(User.id).where(User.username == RESIDENT)) is None:
            password = creds.get(RESIDENT) or f"demo-{secrets.token_hex(6)}"
            service.create_user(
                session,
                actor,
                username=RESIDENT,
                password=password,
                kind=PrincipalKind.CITIZEN,
                display_name="演示居民",
            )
            creds[RESIDENT] = password
    var_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(creds_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=2)
    return creds
