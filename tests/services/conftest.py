"""Fixtures of the services tests: a small seeded city with the departments, staff, and a linked resident
who is the legal representative of a firm holding a business licence.

The city is built once per session and backend (seeding and Argon2 hashing take seconds) and
each test gets a fresh copy: on SQLite a file copy, on PostgreSQL a database created from it
as a template (``CREATE DATABASE … TEMPLATE``). The ``db`` fixture is overridden here so that
the app and client fixtures serve the same copy.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from onecity.core import migrate
from onecity.core.db import Database
from onecity.core.identity import service as identity
from onecity.core.identity.models import User
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.credentials import keys
from onecity.hub.registries.models import Certificate, CertificateStatus, LegalPerson, Person
from onecity.hub.sharing.models import ResidentLink
from onecity.services import service
from onecity.synth.corpus.pdf import scan_pdf
from onecity.synth.registries.seed import seed
from tests.conftest import PASSWORD, PG_ADMIN_URL, SYSTEM, need_service
from tests.hub.registries.city import build_small_city

XUHUI = "310104000000"
HUANGPU = "310101000000"
SECRET = "services-tests-" + "x" * 40
FOOD = "310000-01-00040-001"


def document_page() -> Image.Image:
    """A page with ruled lines and a filled box, no words: a document no machine reads, not a blank sheet."""
    page = Image.new("L", (340, 480), 255)
    draw = ImageDraw.Draw(page)
    for y in range(60, 440, 24):
        draw.line((30, y, 310, y), fill=40, width=2)
    draw.rectangle((220, 380, 300, 440), outline=30, width=3)
    return page


#: A scan of one page no machine reads, saved as a real PDF (uploads are checked by their content, and refused blank).
PDF = scan_pdf([document_page()])


@dataclass
class City:
    db: Database
    firm: LegalPerson  # holds a valid business licence, no food business licence, in Xuhui
    rep: Person  # its legal representative
    resident: Principal  # the rep's citizen account, linked to their person record
    clerk: Principal
    reviewer: Principal
    approver: Principal
    fire_reviewer: Principal
    huangpu_clerk: Principal


def staff(session: Session, username: str, agency: str, division: str, *roles: Role) -> Principal:
    user = identity.create_user(
        session,
        SYSTEM,
        username=username,
        password=PASSWORD,
        kind=PrincipalKind.STAFF,
        roles=list(roles),
        agency_code=agency,
        division_code=division,
    )
    return identity.principal_for_user(user)


def build_city(db: Database) -> None:
    """Seed a small city with departments, staff and a linked resident who represents a licensed firm."""
    with db.transaction() as s:
        build_small_city(s)
    seed(db, 0.0002, 3, SYSTEM, out=None)
    with db.transaction() as s:
        service.install_departments(s, SYSTEM)
        identity.create_agency(
            s,
            SYSTEM,
            code="xh-samr",
            name="徐汇区市场监督管理局",
            name_en="Xuhui AMR",
            division_code=XUHUI,
            parent_code="sh-samr",
        )
        firm = s.scalars(
            select(LegalPerson)
            .join(Certificate, Certificate.holder_id == LegalPerson.id)
            .where(
                LegalPerson.division_code.startswith("310104"),
                Certificate.type_code == "business_licence",
                Certificate.holder_kind == "legal_person",
                Certificate.status == CertificateStatus.VALID,
            )
            .order_by(LegalPerson.id)
        ).first()
        assert firm is not None, "the seed gives Xuhui firms with business licences"
        # the firm must not already hold a food business licence for the tests to mean something
        s.execute(
            delete(Certificate).where(
                Certificate.holder_kind == "legal_person",
                Certificate.holder_id == firm.id,
                Certificate.type_code == "food_business_licence",
            )
        )
        user = identity.create_user(
            s,
            SYSTEM,
            username="resident",
            password=PASSWORD,
            kind=PrincipalKind.CITIZEN,
            roles=[],
            agency_code=None,
            division_code=None,
        )
        s.add(ResidentLink(user_id=user.id, person_id=firm.legal_rep_id, linked_by=SYSTEM.ref))
        staff(s, "clerk", "xh-samr", XUHUI, Role.COUNTER_CLERK)
        staff(s, "reviewer", "xh-samr", XUHUI, Role.REVIEWER)
        staff(s, "approver", "xh-samr", XUHUI, Role.APPROVER)
        staff(s, "fire", "sh-fire", XUHUI, Role.REVIEWER)
        staff(s, "hpclerk", "sh-samr", HUANGPU, Role.COUNTER_CLERK)


def load_city(db: Database) -> City:
    keys.use_secret(db, SECRET)
    with db.sessions() as s:

        def who(username: str) -> Principal:
            user = s.scalar(select(User).where(User.username == username))
            assert user is not None
            return identity.principal_for_user(user)

        resident = who("resident")
        rep_id = s.scalar(select(ResidentLink.person_id).where(ResidentLink.user_id == resident.id))
        rep = s.get(Person, rep_id)
        firm = s.scalars(
            select(LegalPerson)
            .where(LegalPerson.legal_rep_id == rep_id, LegalPerson.division_code.startswith("310104"))
            .order_by(LegalPerson.id)
        ).first()
        assert rep is not None and firm is not None
        return City(
            db, firm, rep, resident, who("clerk"), who("reviewer"), who("approver"), who("fire"), who("hpclerk")
        )


# -- one seeded city per session and backend, copied for each test -----------------------------------


@pytest.fixture(scope="session")
def services_sqlite_city(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("services") / "city.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    build_city(db)
    db.dispose()
    return path


def _admin() -> Database:
    return Database(PG_ADMIN_URL)


@pytest.fixture(scope="session")
def services_pg_city() -> Iterator[str]:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"onecity_svc_tpl_{os.getpid()}"
    admin = _admin()
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    migrate.upgrade(db)
    build_city(db)
    db.dispose()
    yield name
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _copy_file(template: Path, tmp_path: Path) -> Database:
    path = tmp_path / f"city-{secrets.token_hex(3)}.db"
    shutil.copy(template, path)
    return Database(f"sqlite:///{path}")


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh copy of the seeded services city (overrides the empty database of tests/conftest.py)."""
    if backend == "sqlite":
        database = _copy_file(request.getfixturevalue("services_sqlite_city"), tmp_path)
        yield database
        database.dispose()
        return
    template: str = request.getfixturevalue("services_pg_city")
    name = f"onecity_svc_{os.getpid()}_{secrets.token_hex(3)}"
    admin = _admin()
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    database = Database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield database
    finally:
        database.dispose()
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def city(db: Database) -> City:
    return load_city(db)


@pytest.fixture
def sqlite_city(services_sqlite_city: Path, tmp_path: Path) -> Iterator[City]:
    """The city on the embedded default only (for the browser flow, which needs no second backend)."""
    db = _copy_file(services_sqlite_city, tmp_path)
    try:
        yield load_city(db)
    finally:
        db.dispose()


def food_case_ready(city: City) -> str:
    """The resident's food business licence draft, every material no registry holds uploaded as a
    PDF (none a machine reads) and the form complete: ready to submit."""
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, FOOD, uscc=city.firm.uscc)
        for m in service.missing_materials(case):
            service.attach_document(
                s,
                city.resident,
                case.id,
                m["code"],
                filename=f"{m['code']}.pdf",
                content_type="application/pdf",
                content=PDF,
            )
        service.update_form(
            s, city.resident, case.id, {"business_items": "热食类食品制售", "floor_area_m2": 80, "seats": 30}
        )
        return case.id


# -- uploads checked as they arrive (the upload check's and the kept uploads' tests) ----------------

#: The senior citizen card (敬老卡): its application letter is printed by the corpus and read by the OCR.
SENIOR_CARD = "310000-20-00072-001"


@pytest.fixture
def mca(city: City) -> tuple[City, Principal]:
    """The city and a Xuhui civil-affairs clerk who takes applications and reviews them."""
    with city.db.transaction() as s:
        return city, staff(s, "mca.clerk", "sh-mca", XUHUI, Role.COUNTER_CLERK, Role.REVIEWER)


def draft(city: City, clerk: Principal, id_number: str) -> str:
    """A senior card draft the clerk starts for ``id_number`` at the counter (identity checked)."""
    with city.db.transaction() as s:
        return service.start_case(s, clerk, SENIOR_CARD, id_number=id_number, identity_checked=True).id


def printed(
    city: City,
    holder: str,
    doc_type: str = "application_letter",
    *,
    forgery: str | None = None,
    also: str | None = None,
    seed: int = 11,
) -> bytes:
    """``holder``'s document printed by the corpus generator as the registry has it (``also``: another
    person the generator may print on it, for someone else's document), or forged as ``forgery`` says."""
    from onecity.core import clock
    from onecity.synth.corpus import Generator, Roster

    with city.db.sessions() as s:
        roster = Roster([], [], {})
        assert roster.add_holder(s, holder)
        if also is not None:
            assert roster.add_holder(s, also)
    gen = Generator(roster, seed=seed, as_of=clock.today())
    return gen.sample(1, doc_type, forgery=forgery, holder=holder, item="上海市敬老卡").image


def upload(city: City, who: Principal, case_id: str, content: bytes, material: str = "application_letter") -> str:
    """Upload ``content`` (a PNG) as the case's ``material``; the upload answers at once, the check comes later."""
    from onecity.services.models import Case

    with city.db.transaction() as s:
        doc = service.attach_document(
            s, who, case_id, material, filename=f"{material}.png", content_type="image/png", content=content
        )
        case = s.get(Case, case_id)
        assert case is not None
        entry = next(m for m in case.materials if m["code"] == material)
        assert entry["check"] == {"document_id": doc.id, "status": "checking"}
        return doc.id


def checked(city: City, case_id: str, material: str = "application_letter") -> dict[str, Any]:
    """The check of the material's current upload, once the worker has read it (the pending events delivered)."""
    from onecity.core.bus import consumers
    from onecity.services.models import Case

    consumers.deliver_pending(city.db)  # the worker: OCR before its transaction, then the result kept
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        entry = next(m for m in case.materials if m["code"] == material)
        check: dict[str, Any] = entry["check"]  # the check as the case's materials keep it (JSON)
        assert check["document_id"] == entry["ref"]
        return check
