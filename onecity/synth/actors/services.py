"""Residents and firms applying for services, and officers working their queues, in simulated time.

Rates and mixes (scaled with ``--scale``; assumptions are marked as such):

* **volume** — 336 million cases a year in Shanghai (the design brief's published figure),
  spread over the day: online applications around the clock with day-time peaks, counter
  applications in office hours (09:00–12:00, 13:30–17:00) on working days only;
* **channel mix** — 72 % online, 23 % at a counter, 5 % by a proxy (assumption close to
  Shanghai's published online-handling share of over 70 %);
* **mistakes** — 15 % of online applicants first try to submit without a material and are
  told what is missing once; in 8 % of applications one material is the wrong one — a real
  document printed for the case: the wrong kind, someone else's (a relative's, another firm's)
  or an expired one (a material no machine reads: a PDF of the wrong thing; a photo: a form, a group
  photo, a snapshot from afar or someone else's photo, a quarter each). The upload check
  reads it as it arrives; the applicant waits for its answer on the draft and replaces once what
  it flags. What it cannot see, or misses, reaches the clerk, who opens each upload at acceptance
  (the simulation's ground truth stands in for their eyes) and asks for it again (补正); 3 % are
  refused; 3 % of uploads are first an empty sheet, which the portal refuses as it arrives, and
  the applicant scans the document again before submitting (assumptions);
* **bundles** — driven by the life events the registries publish (the city's life-events actor):
  a birth → "have a baby" by the parent the hospital's birth report names (most parents use the
  bundle: 90 %, an assumption), a death → "a death in the family" by a relative (a parent on
  record, else a neighbour standing in for the next of kin), a move → "moving house" by a fifth of
  those who move, a new catering firm (section H) → "open a restaurant" by its representative
  (accounts opened when first needed); items a bundle orders after others are submitted by the
  platform once those are approved;
* **officers** — every department has one counter clerk, one reviewer and one approver per
  district, each handling at most 8 tasks an hour in office hours (limited capacity), in the
  workbench's order (earliest time limit first); the task a case moves on to (its decision after
  its acceptance) is taken within the same ten-minute step, as an officer watching the queue would;
* **scans** — materials a machine reads (ID cards, licences, application letters, invoices,
  real-estate certificates) are uploaded as scans printed by :mod:`onecity.synth.corpus`
  for exactly the applicant: 40 % degraded (phone photo, photocopy…), 5 % forged, 3 % the
  wrong document (assumptions); other materials as a PDF. AI pre-review reads each submitted case, and
  officers follow its advice (asking for the corrections it lists, refusing what it
  suggests refusing); the report counts what was approved unattended, and — from the
  simulation's own ground truth, not the pre-review — how many of those were forged or
  ineligible (``false_auto_approvals``, which must be 0);
* **ratings** — 60 % of decided cases are rated; 80 % five stars, 2 % one star, 2 % two
  (assumption near Shanghai's published 99 % satisfaction); most 1–2 star ratings carry
  a complaint, which becomes a hotline work order.

Online applicants and proxies are residents with portal accounts: the actor opens a pool of
accounts once (through the identity and sharing services, as a counter would link them), for
residents and firms sampled across the whole city (every district in proportion to its people).
"""

from __future__ import annotations

import io
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from onecity.core import clock, workdays
from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.core.errors import DomainError, InvalidInput
from onecity.core.events import OutboxMessage
from onecity.core.identity import service as identity
from onecity.core.identity.models import Agency, User
from onecity.core.identity.passwords import HashedPassword, prehash
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.documents.rules import age_on
from onecity.hub.registries import relations
from onecity.hub.registries.events import FIRM_REGISTERED, PERSON_BORN, PERSON_DIED, PERSON_MOVED
from onecity.hub.registries.models import (
    Certificate,
    CertificateStatus,
    HolderKind,
    LegalPerson,
    LegalPersonStatus,
    Person,
    PersonFacts,
    PersonRelation,
    PersonStatus,
    RelationKind,
    Vehicle,
)
from onecity.hub.sharing.models import ResidentLink
from onecity.services import advice, bundles, catalogue, prereview, service, uploadcheck, uploadstate
from onecity.services.models import (
    BundleApplication,
    Case,
    CaseStatus,
    KeptUpload,
    PreReview,
    PreReviewOutcome,
    WorkItem,
    WorkStatus,
)
from onecity.synth.corpus import FORGERIES, CannotForge, Generator, Roster
from onecity.synth.corpus.degrade import DEGRADATIONS
from onecity.synth.corpus.fonts import font
from onecity.synth.corpus.pdf import scan_pdf
from onecity.synth.corpus.photo import photo

log = logging.getLogger(__name__)

CASES_PER_YEAR_AT_SCALE_1 = 336_000_000
BIRTHS_PER_RESIDENT_YEAR = 4.35e-3
RESTAURANTS_PER_YEAR_AT_SCALE_1 = 20_000
#: Shanghai's death rate (5.96 ‰ a year, Statistical Bulletin 2022): a relative applies for "a death in the family".
DEATHS_PER_RESIDENT_YEAR = 5.96e-3
#: Moves inside the city (3 % of residents a year, an assumption) and the share that move their
#: household registration with the "moving house" bundle (assumption).
MOVES_PER_RESIDENT_YEAR = 0.03
MOVES_BUNDLED = 0.2
#: Share of parents who register a birth with the "have a baby" bundle (assumption: most do).
BIRTHS_BUNDLED = 0.9
E_BIKE_REGISTRATION = "310000-07-00064-001"
UNEMPLOYMENT_BENEFIT = "310000-02-00082-001"
FOOD_LICENCE = "310000-01-00040-001"
#: GB/T 4754 section H (accommodation and catering): a new firm of it opens a restaurant.
CATERING = "H"
#: The life events the registries publish and the bundle each calls for.
LIFE_EVENT_BUNDLES = {
    PERSON_BORN.name: "have-a-baby",
    PERSON_DIED.name: "death-in-family",
    PERSON_MOVED.name: "moving-house",
    FIRM_REGISTERED.name: "open-restaurant",
}
CHANNELS = (("online", 0.72), ("counter", 0.23), ("proxy", 0.05))
FORGOT_MATERIAL = 0.15
WRONG_MATERIAL = 0.08
REFUSED = 0.03
RATED = 0.6
STARS = ((5, 0.80), (4, 0.12), (3, 0.04), (2, 0.02), (1, 0.02))
TASKS_PER_OFFICER_HOUR = 8
PORTAL_ACCOUNTS = 150
#: Simulated residents' accounts opened per transaction at set-up.
SETUP_BATCH = 5
#: Relative demand of the busiest items (others weigh 1): cards, benefits and permits dominate.
POPULARITY = {
    "310000-20-00081-001": 8,
    # the provident fund's withdrawals, by reason (an assumption: renting the most frequent)
    "310000-02-00101-001": 3,
    "310000-02-00101-002": 4,
    "310000-02-00101-003": 1,
    "310000-20-00061-001": 6,
    "310000-20-00063-001": 4,
    "310000-07-00064-001": 4,
    "310000-20-00072-001": 3,
    "310000-02-00082-001": 3,
    "310000-01-00012-001": 3,
    "310000-01-00040-001": 2,
}
#: Hour-of-day weights of online applications (sum 24).
ONLINE_HOURS = [
    0.2,
    0.1,
    0.1,
    0.1,
    0.1,
    0.2,
    0.4,
    0.8,
    1.4,
    1.9,
    2.0,
    1.8,
    1.2,
    1.4,
    1.8,
    1.8,
    1.6,
    1.3,
    1.0,
    1.0,
    1.0,
    0.8,
    0.6,
    0.4,
]
SIM_AGENT = system_principal("sim:services")


def document_page() -> Image.Image:
    """A page with ruled lines and a filled box, no words: a document no machine reads, not a blank sheet."""
    page = Image.new("L", (340, 480), 255)
    draw = ImageDraw.Draw(page)
    for y in range(60, 440, 24):
        draw.line((30, y, 310, y), fill=40, width=2)
    draw.rectangle((220, 380, 300, 440), outline=30, width=3)
    return page


#: Materials no machine reads whole that carry a heading (the catalogue's ``titles``), and the headings.
TITLED = {
    code: spec.titles
    for code in catalogue.material_codes()
    if (spec := catalogue.material(code)).titles and not spec.reads_as
}


@lru_cache(maxsize=64)
def titled_page(code: str) -> bytes:
    """A page of the document a material is: its heading (the first of the catalogue's ``titles``) over
    ruled lines, as a PNG. The same bytes for every upload of it: read once, then found in the OCR cache."""
    page = Image.new("L", (600, 420), 255)
    draw = ImageDraw.Draw(page)
    draw.text((300, 50), catalogue.material(code).titles[0], font=font(40), fill=20, anchor="mm")
    for y in range(120, 380, 28):
        draw.line((40, y, 560, y), fill=60, width=2)
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


#: What a material no machine reads is uploaded as: a one-page scan saved as a real PDF (uploads are
#: checked by their content, and a blank page is refused as it arrives), ruled lines since nothing reads it.
PDF = scan_pdf([document_page()])
#: An empty sheet scanned: what :data:`BLANK_PAGE` of uploads first are (an assumption), refused as it arrives.
BLANK_PDF = scan_pdf([Image.new("L", (340, 480), 255)])
BLANK_PAGE = 0.03
COMPLAINTS = ("窗口排队时间太长", "材料要求没有一次说清", "审批超出承诺时限", "网上申报系统卡顿")
OUTCOME = {"accept": "accept", "review": "pass", "decide": "approve"}
SCAN_DEGRADED = 0.4
SCAN_FORGED = 0.05
#: Share of scans that are the wrong document (the ID card uploaded where the letter belongs).
SCAN_WRONG = 0.03
WRONG_DOCUMENT = {
    "application_letter": "id_card",
    "id_card": "application_letter",
    "business_licence": "id_card",
    "food_business_licence": "business_licence",
    "real_estate_certificate": "id_card",
    "invoice": "id_card",
}
#: What an applicant uploads by mistake where their photo is asked for: a scanned form (a PDF), a group
#: photo, a snapshot from afar, someone else's photo (:mod:`onecity.synth.corpus.photo`).
PHOTO_MISTAKES = ("form", "group", "distant", "someone_else")
#: What an application letter asks for, by item (the letters the corpus prints).
LETTER_ITEMS = {
    "310000-20-00072-001": "上海市敬老卡",
    "310000-20-00061-001": "上海市居住证",
    "310000-02-00073-001": "最低生活保障",
}


#: Items only some residents have cause for, by the registries: a newborn in the family, a relative's
#: death, a move of residence (none at set-up: moves come as life events, and their bundle applies).
NEWBORN_ITEMS = ("310000-07-00062-001", "310000-02-00084-001", "310000-20-00091-001", "310000-20-00131-001")
DEATH_ITEMS = ("310000-07-00067-001", "310000-02-00085-001", "310000-20-00086-001")
MOVE_ITEMS = ("310000-07-00068-001", "310000-20-00087-001")


def _concerned(s: Session, ids: list[int]) -> dict[str, set[int]]:
    """Who of the residents ``ids`` the registries give cause to apply for an item: a residence permit
    is for those registered outside Shanghai, a provident fund withdrawal for those with an account (for
    the reason the registries show: a home in their name, retirement, else renting), a
    social security card (and its bank account) for those 16 and over, a senior card for those 60 and
    over, a marriage for the unmarried and a divorce for the married, a taxi driver's qualification for a
    driving licence holder, a newborn's items for a parent of one, a death's for a relative of the dead."""
    today = clock.local(clock.now()).date()
    people = s.execute(select(Person.id, Person.birth_date, Person.hukou_region).where(Person.id.in_(ids))).all()
    age = {pid: age_on(born, today) for pid, born, _h in people}

    def holders(type_code: str) -> set[int]:
        return set(
            s.scalars(
                select(Certificate.holder_id).where(
                    Certificate.holder_kind == HolderKind.PERSON,
                    Certificate.holder_id.in_(ids),
                    Certificate.type_code == type_code,
                    Certificate.status == CertificateStatus.VALID,
                )
            )
        )

    married, homes = holders("marriage_certificate"), holders("real_estate_certificate")
    sexes = dict(s.execute(select(Person.id, Person.sex).where(Person.id.in_(ids))).all())
    retired = {pid for pid, a in age.items() if a >= (60 if sexes.get(pid) == "M" else 55)}
    parents = set(
        s.scalars(
            select(PersonRelation.relative_id)
            .join(Person, Person.id == PersonRelation.person_id)
            .where(
                PersonRelation.relative_id.in_(ids),
                PersonRelation.kind == RelationKind.PARENT,
                Person.birth_date >= today - timedelta(days=366),
            )
        )
    )
    bereaved = set(
        s.scalars(
            select(PersonRelation.relative_id)
            .join(Person, Person.id == PersonRelation.person_id)
            .where(PersonRelation.relative_id.in_(ids), Person.status == PersonStatus.DECEASED)
        )
    )
    funded = set(
        s.scalars(
            select(PersonFacts.person_id).where(
                PersonFacts.person_id.in_(ids), PersonFacts.provident_fund_balance.is_not(None)
            )
        )
    )
    return {
        "310000-20-00061-001": {pid for pid, _b, hukou in people if not hukou.startswith("31")},
        # a withdrawal's reason is the item: a home in their name, retirement age, else renting
        "310000-02-00101-001": funded & homes,
        "310000-02-00101-002": funded - homes - retired,
        "310000-02-00101-003": funded & retired,
        "310000-20-00081-001": {pid for pid, a in age.items() if a >= 16},
        "310000-20-00072-001": {pid for pid, a in age.items() if a >= 60},
        "310000-07-00071-001": {pid for pid, a in age.items() if a >= 22 and pid not in married},
        "310000-07-00071-002": married,
        "310000-01-00112-001": holders("driving_licence"),
        **{code: parents for code in NEWBORN_ITEMS},
        **{code: bereaved for code in DEATH_ITEMS},
        **{code: set() for code in MOVE_ITEMS},
    }


def office_hours(moment: datetime) -> bool:
    local = clock.local(moment)
    minutes = local.hour * 60 + local.minute
    return workdays.is_working_day(local.date()) and (9 * 60 <= minutes < 12 * 60 or 13 * 60 + 30 <= minutes < 17 * 60)


def _fill(case: Case, rng: np.random.Generator) -> dict[str, Any]:
    """Values an applicant types into the fields nothing prefilled."""
    it = catalogue.item(case.item_code)
    out: dict[str, Any] = {}
    for name in it.fields:
        if name in case.form:
            continue
        spec = catalogue.field(name)
        if "enum" in spec:
            out[name] = spec["enum"][int(rng.integers(len(spec["enum"])))]
        elif spec.get("format") == "date":
            out[name] = (clock.local(clock.now()).date() - timedelta(days=int(rng.integers(1, 60)))).isoformat()
        elif spec["type"] == "integer":
            low = max(1, spec.get("minimum", 1))
            out[name] = int(rng.integers(low, max(low, min(50, spec.get("maximum", 50))) + 1))
        elif spec["type"] == "number":
            top = min(200.0, spec.get("maximum", 200))
            out[name] = float(round(rng.uniform(max(1.0, spec.get("minimum", 1)), top), 1))
        elif "pattern" in spec and "1[0-9]{10}" in spec["pattern"]:
            out[name] = "13" + "".join(str(int(d)) for d in rng.integers(0, 10, 9))
        elif "pattern" in spec and "{12,19}" in spec["pattern"]:
            out[name] = "6222" + "".join(str(int(d)) for d in rng.integers(0, 10, 12))
        elif "pattern" in spec and "[0-9A-Z]{6,20}" in spec["pattern"]:
            out[name] = "EB" + "".join(str(int(d)) for d in rng.integers(0, 10, 10))
        elif name == "industry":
            out[name] = "ABCDEFGHIJKLMNOPQRST"[int(rng.integers(20))]
        elif "pattern" in spec and name in ("spouse_id_number",):
            continue  # the spouse is drawn from the registry below
        elif "pattern" in spec:
            continue
        else:
            out[name] = f"模拟{spec['title']}"[: spec.get("maxLength", 40)]
    return out


def _every_nth(
    s: Session, table: type[Person] | type[LegalPerson], where: Any, wanted: int, rng: np.random.Generator
) -> ColumnElement[bool]:
    """A condition keeping about ``wanted`` of ``table``'s rows, spread evenly over its sequential ids.

    A systematic sample with a seeded start: every district in proportion to its rows, the same
    rows for the same seed, and no row-by-row draw over a registry of 25 million.
    """
    rows = int(s.scalar(select(func.count()).select_from(table).where(where)) or 0)
    step = max(1, rows // wanted)
    start = int(rng.integers(step))
    return (table.id % step) == start


@dataclass
class ServicesActor:
    scale: float
    name: str = "services"
    #: Residents with portal accounts (online applicants and proxies are drawn from them).
    accounts: int = PORTAL_ACCOUNTS
    #: How many residents and firms the accounts are drawn from: a city-wide sample of each.
    residents_sampled: int = 5000
    firms_sampled: int = 2000
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bundle_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Why simulated applications did not get submitted (for the report: a modelling check).
    refusals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: Share of machine-readable materials uploaded as printed scans (the rest as PDFs no OCR reads).
    scan_share: float = 1.0
    #: Share of those scans forged (a benchmark raises it to see that none goes through unattended).
    forged_share: float = SCAN_FORGED
    #: Simulated officers work only the cases the simulation started, leaving the people's own
    #: (the demo: its reviewer and approver sign in to find the demo resident's case waiting).
    leave_to_people: bool = False
    _ready: bool = field(default=False, init=False)
    #: Ground truth the pre-review never sees: case id → the forgery its scans carry.
    _forged: dict[str, str] = field(default_factory=dict, init=False)
    #: upload id → its case, for the forged ones: a forgery the upload check flagged and the applicant
    #: replaced before submitting is not in what the pre-review decides on
    _forged_docs: dict[str, str] = field(default_factory=dict, init=False)
    #: upload id → the forgery it carries (ground truth, for the report by kind)
    _forged_kind: dict[str, str] = field(default_factory=dict, init=False)
    #: cases whose draft held a forgery the platform kept when the applicant replaced it
    _kept_forged: set[str] = field(default_factory=set, init=False)
    replaced_forgeries: dict[str, int] = field(default_factory=lambda: defaultdict(int), init=False)
    kept_forgeries: dict[str, int] = field(default_factory=lambda: defaultdict(int), init=False)
    #: Ground truth the check never sees: upload id → the applicant's mistake it is (the officer sees it).
    _wrong_docs: dict[str, str] = field(default_factory=dict, init=False)
    _printer: Generator | None = field(default=None, init=False)
    _printed: int = field(default=0, init=False)
    _accounts: list[tuple[Principal, int]] = field(default_factory=list, init=False)
    _firm_accounts: list[tuple[Principal, str]] = field(default_factory=list, init=False)
    _officers: dict[tuple[str, str, str], Principal] = field(default_factory=dict, init=False)
    _capacity: dict[tuple[str, str, str], float] = field(default_factory=dict, init=False)
    _population: int = field(default=0, init=False)
    _pending: list[tuple[str, str]] = field(default_factory=list, init=False)  # (case id, what to do)
    _db: Database | None = field(default=None, init=False)
    #: Life events seen (births, deaths, moves, new firms) and where the last look ended.
    life_events: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _events_seen: datetime | None = field(default=None, init=False)
    #: Accounts opened for residents who applied after a life event.
    _event_accounts: list[tuple[Principal, int]] = field(default_factory=list, init=False)
    _password: HashedPassword | None = field(default=None, init=False)
    #: Accounts (positions in ``_accounts``) of the residents an item concerns.
    _concerned: dict[str, list[int]] = field(default_factory=dict, init=False)
    #: Firm accounts (positions in ``_firm_accounts``) of the firms an item concerns.
    _concerned_firms: dict[str, list[int]] = field(default_factory=dict, init=False)

    # -- set-up ------------------------------------------------------------------------------------

    def _setup(self, db: Database, rng: np.random.Generator) -> None:
        with db.transaction() as s:
            service.install_departments(s, SIM_AGENT)
        with db.sessions() as s:
            self._population = int(
                s.scalar(select(func.count()).select_from(Person).where(Person.status == PersonStatus.ALIVE)) or 0
            )
            districts = list(s.scalars(select(Division.code).where(Division.level == DivisionLevel.DISTRICT)))
            agencies = dict(s.execute(select(Agency.code, Agency.id)).all())
            # City-wide samples: registry ids run district by district, so the first rows by id
            # would be the central districts' residents, and their offices would take nearly all
            # the city's applications (44 % in Huangpu in the first month run).
            alive = Person.status == PersonStatus.ALIVE
            adults = list(
                s.scalars(
                    select(Person.id)
                    .where(alive, _every_nth(s, Person, alive, self.residents_sampled, rng))
                    .order_by(Person.id)
                    .limit(self.residents_sampled)
                )
            )
            active = LegalPerson.status == LegalPersonStatus.ACTIVE
            firms = list(
                s.execute(
                    select(LegalPerson.uscc, LegalPerson.legal_rep_id)
                    .where(active, _every_nth(s, LegalPerson, active, self.firms_sampled, rng))
                    .order_by(LegalPerson.id)
                    .limit(self.firms_sampled)
                ).all()
            )
        for dept in catalogue.departments():
            for d in districts:
                for role in (Role.COUNTER_CLERK, Role.REVIEWER, Role.APPROVER):
                    self._officers[(dept, d[:6], role.value)] = Principal(
                        kind=PrincipalKind.STAFF,
                        id=f"sim-{dept}-{d[:6]}-{role.value}",
                        name=f"{dept} {role.label_en}",
                        roles=frozenset({role}),
                        agency_id=agencies.get(dept),
                        agency_code=dept,
                        division_code=d,
                    )
        if not adults:
            return
        picks = rng.choice(len(adults), size=min(self.accounts, len(adults)), replace=False)
        firm_reps = {rep: uscc for uscc, rep in firms}
        reps = list(firm_reps)  # in firm id order: district by district, so a third of them drawn at random
        rep_picks = rng.choice(len(reps), size=min(self.accounts // 3, len(reps)), replace=False) if reps else ()
        chosen = {adults[int(i)] for i in picks} | {reps[int(i)] for i in rep_picks}
        with db.sessions() as s:
            existing = dict(s.execute(select(ResidentLink.person_id, ResidentLink.user_id)).all())
        # Simulated residents never sign in: their accounts share one hash of a password nobody
        # keeps, made once before any transaction (Argon2id takes half a second of a core).
        nobody_knows = prehash(f"Sim-{secrets.token_urlsafe(24)}-x")
        ordered = sorted(chosen)
        for start in range(0, len(ordered), SETUP_BATCH):
            # a few accounts a transaction: the demo's visitors wait for the writer at most that long
            with db.transaction() as s:
                for pid in ordered[start : start + SETUP_BATCH]:
                    user_id = existing.get(pid)
                    if user_id is None:
                        person = s.get(Person, pid)
                        if person is None:
                            continue
                        rng.integers(1 << 30)  # drawn as before, so a seeded run replays the same city
                        user = identity.create_user(
                            s,
                            SIM_AGENT,
                            username=f"sim-resident-{pid}",
                            password=nobody_knows,
                            kind=PrincipalKind.CITIZEN,
                            roles=[],
                            agency_code=None,
                            division_code=None,
                        )
                        s.add(ResidentLink(user_id=user.id, person_id=pid, linked_by=SIM_AGENT.ref))
                        user_id = user.id
                    u = s.get(User, user_id)
                    assert u is not None
                    p = identity.principal_for_user(u)
                    self._accounts.append((p, pid))
                    if pid in firm_reps:
                        self._firm_accounts.append((p, firm_reps[pid]))
        # who an item concerns: a bicycle bought and not registered yet, contributions stopped
        ids = [pid for _p, pid in self._accounts]
        with db.sessions() as s:
            buyers = set(
                s.scalars(
                    select(Vehicle.holder_id).where(
                        Vehicle.holder_kind == HolderKind.PERSON,
                        Vehicle.holder_id.in_(ids),
                        Vehicle.registered_on.is_(None),
                    )
                )
            )
            jobless = set(
                s.scalars(
                    select(PersonFacts.person_id).where(
                        PersonFacts.person_id.in_(ids), PersonFacts.employed_until.is_not(None)
                    )
                )
            )
            self._concerned = {
                E_BIKE_REGISTRATION: [i for i, pid in enumerate(ids) if pid in buyers],
                UNEMPLOYMENT_BENEFIT: [i for i, pid in enumerate(ids) if pid in jobless],
                **{code: [i for i, pid in enumerate(ids) if pid in who] for code, who in _concerned(s, ids).items()},
            }
            catering = set(
                s.scalars(
                    select(LegalPerson.uscc).where(
                        LegalPerson.uscc.in_([u for _p, u in self._firm_accounts]), LegalPerson.industry == CATERING
                    )
                )
            )
        self._concerned_firms = {FOOD_LICENCE: [i for i, (_p, u) in enumerate(self._firm_accounts) if u in catering]}

    # -- the step --------------------------------------------------------------------------------

    def step(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        self._db = db
        if not self._ready:
            self._setup(db, rng)
            self._ready = True
        if not self._accounts:
            return
        hours = (end - start).total_seconds() / 3600
        per_hour = CASES_PER_YEAR_AT_SCALE_1 * self.scale / 365 / 24
        hour = clock.local(start).hour
        online = rng.poisson(per_hour * hours * ONLINE_HOURS[hour] * 0.77)
        counter = rng.poisson(per_hour * hours * 0.23 * 24 / 6.5) if office_hours(start) else 0
        self._follow_ups(db, rng)
        for _ in range(int(online)):
            self._apply(db, rng, "proxy" if rng.random() < 0.05 / 0.77 else "online")
        for _ in range(int(counter)):
            self._apply(db, rng, "counter")
        self._life_events(db, rng)
        if office_hours(start):
            self._work(db, rng, hours)
        with db.transaction() as s:
            service.refresh_clocks(s)

    def _pick_item(self, rng: np.random.Generator, kind: str | None = None) -> catalogue.Item:
        # proactive items come from offers (the benefits actor), never from an application; an item only
        # some residents or firms have cause for (a baby born, a marriage to dissolve, a restaurant to
        # license) is not applied for when none of the accounts has that cause in the registries
        items = [
            i
            for i in catalogue.items()
            if (kind is None or i.applicant_kind == kind)
            and not i.proactive
            and self._concerned.get(i.code, [0]) != []
            and self._concerned_firms.get(i.code, [0]) != []
        ]
        w = np.asarray([POPULARITY.get(i.code, 1) for i in items], dtype=float)
        return items[int(rng.choice(len(items), p=w / w.sum()))]

    def _apply(self, db: Database, rng: np.random.Generator, channel: str) -> None:
        it = self._pick_item(rng)
        try:
            with db.transaction() as s:
                case = self._start(s, rng, it, channel)
                if case is None:
                    return
                self.counts["drafts"] += 1
                channel = str(case.channel)
                actor = self._actor_of(s, case, channel)
                service.update_form(s, actor, case.id, _fill(case, rng))
                self._spouse(s, rng, actor, case)
                missing = service.missing_materials(case)
                forgot = channel != "counter" and missing and rng.random() < FORGOT_MATERIAL
                uploading = missing[:-1] if forgot else missing
                # the applicant's mistake (an assumption): one material of the application is the wrong one
                wrong = int(rng.integers(len(uploading))) if uploading and rng.random() < WRONG_MATERIAL else -1
                for i, m in enumerate(uploading):
                    self._upload(s, rng, actor, case, m["code"], wrong=i == wrong)
                case_id = case.id
            self._heed_checks(db, rng, actor, case_id)
            if forgot:  # told once what is missing, the applicant adds it and submits again
                with db.transaction() as s:
                    try:
                        service.submit(s, actor, case_id)
                    except DomainError:
                        self.counts["told_missing_once"] += 1
                with db.transaction() as s:
                    late = service.get_case(s, actor, case_id)
                    self._upload(s, rng, actor, late, service.missing_materials(late)[0]["code"])
                self._heed_checks(db, rng, actor, case_id)
            with db.transaction() as s:
                # what the check still flags (it misread the right document, or the replacement too) the
                # applicant submits on their word: the officer sees it
                still = uploadstate.flagged(s.get(Case, case_id))  # type: ignore[arg-type]
                service.submit(s, actor, case_id, confirm_flagged=bool(still))
                self.counts["submitted_with_flagged_material"] += int(bool(still))
            self.counts["applications"] += 1
            self.counts[channel] += 1
        except (DomainError, LookupError) as err:
            log.debug("simulated application refused: %s", err)
            self.counts["not_submitted"] += 1
            self.refusals[type(err).__name__ + ": " + str(getattr(err, "detail", err))[:60]] += 1

    def _heed_checks(self, db: Database, rng: np.random.Generator, actor: Principal, case_id: str) -> None:
        """The applicant waits on the draft for the upload check's answer (the check the worker makes, run
        here in place of waiting for it) and replaces once each material it flags, as a real applicant
        would, with their own right document; the replacement is checked too."""
        for _round in range(2):
            with db.sessions() as s:
                case = s.get(Case, case_id)  # the draft as the applicant sees it (the actor's own bookkeeping)
                assert case is not None
                waiting = [
                    m["ref"] for m in case.materials if (m.get("check") or {}).get("status") == uploadstate.CHECKING
                ]
            for document_id in waiting:
                result = uploadcheck.run(db, case_id, document_id)
                self.counts["upload_checks"] += 1
                if result is not None:
                    self.counts[f"upload_checks_{result['status']}"] += 1
            if _round:
                return
            with db.transaction() as s:
                case = s.get(Case, case_id)
                assert case is not None
                flagged = uploadstate.flagged(case)
                for m in flagged:
                    self.counts["replaced_after_upload_check"] += 1
                    self.counts["replaced_a_wrong_material"] += int(m["ref"] in self._wrong_docs)
                    forged = self._forged_docs.pop(m["ref"], None) is not None
                    kind = self._forged_kind.pop(m["ref"], "")
                    if forged:
                        # the forgery the check flagged is gone from the case: what goes on is the
                        # applicant's own document, and an unattended approval of it is no false one
                        if case_id not in self._forged_docs.values():
                            self._forged.pop(case_id, None)
                        self.counts["forgeries_replaced_after_upload_check"] += 1
                        self.replaced_forgeries[kind] += 1
                    self._upload(s, rng, actor, case, m["code"], honest=True)
                    if s.get(KeptUpload, m["ref"]) is not None:  # the platform kept it: an authenticity failure
                        self.counts["uploads_kept_after_upload_check"] += 1
                        if forged:
                            self._kept_forged.add(case_id)
                            self.kept_forgeries[kind] += 1
                        else:
                            self.counts["kept_uploads_not_forged"] += 1  # a genuine one misread as forged
            if not flagged:
                return

    def _start(self, s: Session, rng: np.random.Generator, it: catalogue.Item, channel: str) -> Case | None:
        if it.applicant_kind == "legal_person":
            if not self._firm_accounts:
                return None
            firms = self._concerned_firms.get(it.code) or range(len(self._firm_accounts))
            principal, uscc = self._firm_accounts[firms[int(rng.integers(len(firms)))]]
            if channel == "counter":
                clerk = self._clerk_for(s, it, principal)
                rep = service.linked_person(s, principal)
                return service.start_case(s, clerk, it.code, id_number=rep.id_number, uscc=uscc, identity_checked=True)
            return service.start_case(s, principal, it.code, uscc=uscc)
        # an item some residents have cause to apply for (a bicycle bought, a job lost) is applied for
        # by one of them when the accounts hold any; any resident otherwise
        among = self._concerned.get(it.code) or range(len(self._accounts))
        principal, _pid = self._accounts[among[int(rng.integers(len(among)))]]
        if channel == "counter":
            me = service.linked_person(s, principal)
            return service.start_case(
                s, self._clerk_for(s, it, principal), it.code, id_number=me.id_number, identity_checked=True
            )
        if channel == "proxy":
            other, _ = self._accounts[int(rng.integers(len(self._accounts)))]
            if other.id == principal.id:
                return None
            grantor, agent = service.linked_person(s, other), service.linked_person(s, principal)
            if relations.prove(s, agent, id_number=grantor.id_number, items=(it.code,), account=principal.ref) is None:
                # an older relative lets a son or daughter act for them: a power of attorney from their own account
                relations.grant_power_of_attorney(
                    s,
                    other,
                    agent_id_number=agent.id_number,
                    agent_name=agent.name,
                    items=["*"],
                    valid_until=clock.now() + timedelta(days=365),
                )
            return service.start_case(s, principal, it.code, id_number=grantor.id_number)
        return service.start_case(s, principal, it.code)

    def _clerk_for(self, s: Session, it: catalogue.Item, citizen: Principal) -> Principal:
        person = service.linked_person(s, citizen)
        return self._officers[(it.department, person.division_code[:6], Role.COUNTER_CLERK.value)]

    def _actor_of(self, s: Session, case: Case, channel: str) -> Principal:
        if channel == "counter":
            return self._officers[(case.department, case.division_code[:6], Role.COUNTER_CLERK.value)]
        for p, pid in self._accounts:
            if pid == (case.proxy_person_id if channel == "proxy" else case.person_id):
                return p
        raise LookupError("no account for the case's applicant")

    def _upload(
        self,
        s: Session,
        rng: np.random.Generator,
        actor: Principal,
        case: Case,
        code: str,
        *,
        honest: bool = False,
        wrong: bool = False,
    ) -> str:
        """Upload one material: a printed scan of the applicant's own document when a machine
        reads that material (a share degraded, a share forged unless ``honest``), else a PDF; returns the
        upload's id. ``wrong``: the applicant's mistake — the wrong kind of document, someone else's (a
        relative's, a neighbouring firm's) or an expired one, printed as a real document the upload check
        reads; a material no machine reads is a PDF of the wrong thing, which only the officer sees."""
        spec = catalogue.material(code)
        scan = None
        mistake = None
        if spec.reads_as and rng.random() < self.scan_share:
            doc_type = spec.reads_as
            if not honest and rng.random() < SCAN_WRONG:
                doc_type = WRONG_DOCUMENT[doc_type]
                self.counts["scans_wrong_document"] += 1
                mistake = "wrong_type"
            if wrong:
                scan, mistake = self._print_wrong(s, rng, case, doc_type)
                mistake = mistake if scan is not None else "unseen"
            else:
                scan = self._print(s, rng, case, doc_type, honest=honest)
        elif spec.portrait:
            # a photo of the applicant; the mistaken one (an assumption: a quarter each) a scanned form, a
            # group photo, a snapshot from afar — which the photo check sees — or someone else's photo
            kind = "own"
            if wrong:
                kind = PHOTO_MISTAKES[int(rng.integers(len(PHOTO_MISTAKES)))]
                mistake = "someone_else" if kind == "someone_else" else "wrong_type"
            scan = (PDF, "application/pdf", None) if kind == "form" else (photo(kind, rng), "image/jpeg", None)
        elif spec.titles and not spec.reads_as:
            # a document no machine reads whole: a page with its heading, which the upload check reads
            shown = code
            if wrong:
                mistake = ("wrong_type", "unseen")[int(rng.integers(2))]  # the wrong paper, or another's own
                if mistake == "wrong_type":
                    others = [c for c in TITLED if c != code and not set(TITLED[c]) & set(spec.titles)]
                    shown = others[int(rng.integers(len(others)))]
            page = titled_page(shown)
            scan = (page, "image/png", None)
        elif wrong:
            mistake = "unseen"
        if wrong:
            self.counts[f"wrong_material_{mistake or 'unseen'}"] += 1
            mistake = mistake or "unseen"
        if not honest and rng.random() < BLANK_PAGE:
            # the scanner's lid open on nothing: the portal refuses the page as it arrives, in words,
            # and the applicant scans the document again before submitting (never the clerk's 补正)
            try:
                service.attach_document(
                    s, actor, case.id, code, filename=f"{code}.pdf", content_type="application/pdf", content=BLANK_PDF
                )
            except InvalidInput:
                self.counts["blank_pages_refused_at_upload"] += 1
        if scan is None:
            doc = service.attach_document(
                s, actor, case.id, code, filename=f"{code}.pdf", content_type="application/pdf", content=PDF
            )
        else:
            data, media_type, forgery = scan
            if forgery:
                self._forged[case.id] = forgery
            titled = spec.titles and not spec.reads_as
            self.counts["photos" if spec.portrait else "titled_pages" if titled else "scans"] += 1
            self.counts["scans_forged"] += int(bool(forgery))
            doc = service.attach_document(
                s,
                actor,
                case.id,
                code,
                filename=f"{code}.{media_type.rsplit('/', 1)[-1]}",
                content_type=media_type,
                content=data,
            )
        if mistake is not None:
            self._wrong_docs[doc.id] = mistake  # ground truth: what the officer sees when they open it
        if scan is not None and scan[2]:
            self._forged_docs[doc.id] = case.id
            self._forged_kind[doc.id] = str(scan[2])
        return doc.id

    def _print_wrong(
        self, s: Session, rng: np.random.Generator, case: Case, doc_type: str
    ) -> tuple[tuple[bytes, str, str | None] | None, str]:
        """A real document that is the wrong one for the material, and which mistake it is."""
        kinds = ["wrong_type", "someone_else"] + (["expired"] if doc_type in FORGERIES["expired"] else [])
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "expired":
            printed = self._print(s, rng, case, doc_type, honest=True, forgery="expired")
            if printed is not None:
                return printed, kind
            kind = "someone_else"  # the applicant holds no expired one
        if kind == "someone_else" and doc_type != "invoice":
            other = self._someone_else(s, rng, case, doc_type)
            printed = self._print(s, rng, case, doc_type, honest=True, holder=other) if other else None
            if printed is not None:
                return printed, kind
        return self._print(s, rng, case, WRONG_DOCUMENT[doc_type], honest=True), "wrong_type"

    @staticmethod
    def _someone_else(s: Session, rng: np.random.Generator, case: Case, doc_type: str) -> str | None:
        """Whose document the applicant took by mistake: another person's (a relative's), another firm's."""
        if doc_type in prereview.FIRM_DOC_TYPES:
            return s.scalar(
                select(LegalPerson.uscc)
                .where(LegalPerson.status == LegalPersonStatus.ACTIVE, LegalPerson.uscc != case.applicant_identifier)
                .order_by(LegalPerson.id)
                .offset(int(rng.integers(0, 50)))
                .limit(1)
            )
        return s.scalar(
            select(Person.id_number)
            .where(Person.id != case.person_id, Person.status == PersonStatus.ALIVE)
            .order_by(Person.id)
            .offset(int(rng.integers(0, 500)))
            .limit(1)
        )

    def _print(
        self,
        s: Session,
        rng: np.random.Generator,
        case: Case,
        doc_type: str,
        *,
        honest: bool,
        forgery: str | None = None,
        holder: str | None = None,
    ) -> tuple[bytes, str, str | None] | None:
        """A printed scan of ``doc_type`` for the applicant (or ``holder``): forged for a share unless
        ``honest``; ``forgery`` prints that flaw (an expired document the applicant really holds)."""
        if self._printer is None:
            self._printer = Generator(Roster([], [], {}), seed=int(rng.integers(1 << 30)), as_of=clock.today())
        printer = self._printer
        printer.as_of = clock.today()
        if holder is not None:
            pass  # someone else's document, taken by mistake
        elif doc_type in prereview.FIRM_DOC_TYPES:
            holder = case.applicant_identifier if case.applicant_kind == "legal_person" else None
        elif doc_type in ("id_card", "application_letter", "real_estate_certificate"):
            person = s.get(Person, case.person_id) if case.person_id is not None else None
            holder = person.id_number if person is not None else None
        if holder is None and doc_type != "invoice":
            return None
        if holder is not None and not printer.roster.add_holder(s, holder):
            return None
        if len(printer.roster.persons) < 3 or len(printer.roster.firms) < 3:  # someone else to forge from
            for other in s.scalars(select(Person.id_number).order_by(Person.id).limit(5)):
                printer.roster.add_holder(s, other)
            for other in s.scalars(
                select(LegalPerson.uscc)
                .where(LegalPerson.status == LegalPersonStatus.ACTIVE)
                .order_by(LegalPerson.id)
                .limit(5)
            ):
                printer.roster.add_holder(s, other)
        kinds = [k for k, types in FORGERIES.items() if doc_type in types]
        mistake = forgery
        forgery = (
            kinds[int(rng.integers(len(kinds)))] if kinds and not honest and rng.random() < self.forged_share else None
        )
        names = list(DEGRADATIONS)
        degradations = (
            tuple(names[int(i)] for i in rng.choice(len(names), size=int(rng.integers(1, 3)), replace=False))
            if rng.random() < SCAN_DEGRADED
            else ()
        )
        self._printed += 1
        for attempt in (mistake,) if mistake else (forgery, None):
            try:
                sample = printer.sample(
                    self._printed,
                    doc_type,
                    degradations=degradations,
                    forgery=attempt,
                    holder=holder if doc_type != "invoice" else None,
                    item=LETTER_ITEMS.get(case.item_code),
                )
                return sample.image, sample.media_type, None if mistake else attempt
            except CannotForge:
                continue  # nothing to forge from (or the applicant holds no such certificate)
        return None

    def _spouse(self, s: Session, rng: np.random.Generator, actor: Principal, case: Case) -> None:
        if "spouse_id_number" not in catalogue.item(case.item_code).fields or "spouse_id_number" in case.form:
            return
        spouse = s.scalar(
            select(Person)
            .where(Person.id != case.person_id)
            .order_by(Person.id)
            .offset(int(rng.integers(1, 500)))
            .limit(1)
        )
        if spouse is not None:
            service.update_form(s, actor, case.id, {"spouse_name": spouse.name, "spouse_id_number": spouse.id_number})

    # -- life events driving bundles ---------------------------------------------------------------

    def _life_events(self, db: Database, rng: np.random.Generator) -> None:
        """Apply for the bundle a life event calls for, as the registries published it (the city's
        life-events actor, or a registrar): a birth → "have a baby" by the parent the birth report
        names, a death → "a death in the family" by a relative, a move → "moving house" by the one
        who moved (a share of them), a new catering firm → "open a restaurant" by its representative."""
        now = clock.now()
        since = self._events_seen or now - timedelta(minutes=10)
        self._events_seen = now
        with db.sessions() as s:
            happened = list(
                s.execute(
                    select(OutboxMessage.event_type, OutboxMessage.payload)
                    .where(
                        OutboxMessage.event_type.in_(list(LIFE_EVENT_BUNDLES)),
                        OutboxMessage.occurred_at > since,
                        OutboxMessage.occurred_at <= now,
                    )
                    .order_by(OutboxMessage.occurred_at, OutboxMessage.id)
                ).all()
            )
        for event_type, payload in happened:
            code = LIFE_EVENT_BUNDLES[event_type]
            self.life_events[event_type] += 1
            if event_type == PERSON_MOVED.name and rng.random() >= MOVES_BUNDLED:
                continue  # most who move keep their household registration where it is
            if event_type == PERSON_BORN.name and rng.random() >= BIRTHS_BUNDLED:
                continue
            try:
                self._bundle_for(db, rng, code, payload)
            except (DomainError, LookupError) as err:
                log.debug("simulated %s after %s refused: %s", code, event_type, err)
                self.bundle_counts.setdefault(code, defaultdict(int))["not_submitted"] += 1

    def _account_for(self, db: Database, person_id: int) -> Principal:
        """The portal account of a resident who applies after a life event (opened when they first
        need it, as a counter links one after checking the identity document)."""
        for p, pid in self._accounts + self._event_accounts:
            if pid == person_id:
                return p
        if self._password is None:
            self._password = prehash(f"Sim-{secrets.token_urlsafe(24)}-x")
        with db.transaction() as s:
            user_id = s.scalar(select(ResidentLink.user_id).where(ResidentLink.person_id == person_id))
            if user_id is None:
                user = identity.create_user(
                    s,
                    SIM_AGENT,
                    username=f"sim-resident-{person_id}",
                    password=self._password,
                    kind=PrincipalKind.CITIZEN,
                    roles=[],
                    agency_code=None,
                    division_code=None,
                )
                s.add(ResidentLink(user_id=user.id, person_id=person_id, linked_by=SIM_AGENT.ref))
                user_id = user.id
            u = s.get(User, user_id)
            assert u is not None
            principal = identity.principal_for_user(u)
        self._event_accounts.append((principal, person_id))
        return principal

    def _bundle_for(self, db: Database, rng: np.random.Generator, code: str, payload: dict[str, Any]) -> None:
        """Who applies for the bundle a life event calls for, and what they know that no form prefills."""
        values: dict[str, Any] = {}
        uscc: str | None = None
        with db.sessions() as s:
            if code == "have-a-baby":
                child = s.get(Person, int(payload["person_id"]))
                parent_id = s.scalar(
                    select(PersonRelation.relative_id).where(
                        PersonRelation.person_id == int(payload["person_id"]),
                        PersonRelation.kind == RelationKind.PARENT,
                    )
                )
                if child is None or parent_id is None:
                    raise LookupError("a birth with no parent on record")
                applicant = parent_id
                values = {"child_name": child.name, "child_sex": child.sex, "child_birth_date": str(child.birth_date)}
            elif code == "death-in-family":
                deceased = s.get(Person, int(payload["person_id"]))
                if deceased is None:
                    raise LookupError("no such person")
                # a relative: a parent on record, else a resident of the same community (an assumption)
                relative = s.scalar(
                    select(PersonRelation.relative_id).where(PersonRelation.person_id == deceased.id).limit(1)
                ) or s.scalar(
                    select(Person.id)
                    .where(
                        Person.division_code == deceased.division_code,
                        Person.status == PersonStatus.ALIVE,
                        Person.birth_date <= clock.today() - timedelta(days=18 * 366),
                    )
                    .order_by(Person.id)
                    .limit(1)
                )
                if relative is None:
                    raise LookupError("nobody to apply")
                applicant = relative
                values = {
                    "deceased_name": deceased.name,
                    "deceased_id_number": deceased.id_number,
                    "death_date": str(clock.local(clock.now()).date()),
                }
            elif code == "moving-house":
                applicant = int(payload["person_id"])
                before = s.get(Division, str(payload.get("from_division") or ""))
                values = {"previous_address": f"{before.name if before else '原住址'}{int(rng.integers(1, 300))}号"}
            else:
                firm = s.get(LegalPerson, int(payload["legal_person_id"]))
                if firm is None or firm.industry != CATERING:
                    return
                applicant, uscc = firm.legal_rep_id, firm.uscc
            adult = s.get(Person, applicant)
            if adult is None or adult.status != PersonStatus.ALIVE:
                raise LookupError("the applicant is not a living resident")
        self._bundle(db, rng, code, principal=self._account_for(db, applicant), uscc=uscc, known=values)

    def _bundle(
        self,
        db: Database,
        rng: np.random.Generator,
        code: str,
        *,
        principal: Principal,
        uscc: str | None = None,
        known: dict[str, Any] | None = None,
    ) -> None:
        figures = self.bundle_counts.setdefault(code, defaultdict(int))
        try:
            with db.transaction() as s:
                app = bundles.start_bundle(s, principal, code, uscc=uscc)
                _a, cases = bundles.get_bundle(s, principal, app.id)
                values: dict[str, Any] = {}
                for case in cases:
                    values.update(_fill(case, rng))
                values.update(known or {})  # what the life event told the applicant
                bundles.update_form(s, principal, app.id, values)
                asked = bundles.missing(cases)
                # the applicant's mistake (as for one application): a material no machine reads here (a PDF)
                wrong = (
                    asked[int(rng.integers(len(asked)))]["code"] if asked and rng.random() < WRONG_MATERIAL else None
                )
                for m in asked:
                    bundles.attach_document(
                        s,
                        principal,
                        app.id,
                        m["code"],
                        filename=f"{m['code']}.pdf",
                        content_type="application/pdf",
                        content=PDF,
                    )
                if wrong is not None:
                    self.counts["wrong_material_unseen"] += 1
                    for case in bundles.get_bundle(s, principal, app.id)[1]:
                        self._wrong_docs.update(
                            (m["ref"], "unseen") for m in case.materials if m["code"] == wrong and m.get("ref")
                        )
                bundles.submit(s, principal, app.id)
                figures["applications"] += 1
                figures["materials_asked"] += app.materials_asked
                figures["materials_one_by_one"] += app.materials_one_by_one
                figures["fields_asked"] += app.fields_asked
                figures["fields_one_by_one"] += app.fields_one_by_one
                self.counts["applications"] += len(cases)
                self.counts["online"] += len(cases)
        except DomainError as err:
            log.debug("simulated bundle refused: %s", err.detail)
            figures["not_submitted"] += 1

    # -- officers and applicants coming back -----------------------------------------------------

    def _work(self, db: Database, rng: np.random.Generator, hours: float) -> None:
        for key in self._officers:
            self._capacity[key] = min(
                self._capacity.get(key, 0.0) + TASKS_PER_OFFICER_HOUR * hours, TASKS_PER_OFFICER_HOUR
            )
        # the next task of a case moved on (its review after its acceptance, its decision after its review) is
        # in the queue at once, and its officer takes it within the same ten minutes: not at the next step,
        # which after 16:50 is the next working day (a same-day item then missed its limit by a night)
        listed: set[str] = set()
        now = clock.now()
        for later in (False, True, True):  # a workflow has at most three officers' steps
            with db.sessions() as s:
                open_items = list(
                    s.execute(
                        select(
                            WorkItem.id,
                            WorkItem.department,
                            WorkItem.division_code,
                            WorkItem.role,
                            WorkItem.task_name,
                            Case.created_by,
                            Case.due_on,
                        )
                        .join(Case, Case.id == WorkItem.case_id)
                        # a task an officer claimed waits for them: the simulated officers leave it alone
                        .where(
                            WorkItem.status == WorkStatus.OPEN,
                            WorkItem.role != "applicant",
                            WorkItem.assigned_to.is_(None),
                            WorkItem.created_at >= now if later else true(),
                        )
                        .order_by(WorkItem.created_at)
                    ).all()
                )
            open_items = [row for row in open_items if row[0] not in listed]
            if not open_items:
                return
            listed.update(row[0] for row in open_items)
            # as the workbench shows them (tasks.work_queue): the earliest time limit first, then oldest first
            open_items.sort(key=lambda row: (row[-1] is None, row[-1] or date.max))
            if self.leave_to_people:
                ours = {p.ref for p, _ in self._accounts} | {o.ref for o in self._officers.values()}
                open_items = [row for row in open_items if row[-2] in ours]
            for wid, dept, division, role, task, _started_by, _due in open_items:
                key = (dept, division[:6], role)
                officer = self._officers.get(key)
                if officer is None or self._capacity.get(key, 0.0) < 1:
                    continue
                self._capacity[key] -= 1
                kind = next(k for k in OUTCOME if task.startswith(k))
                outcome, reason, missing = OUTCOME[kind], "", None
                try:
                    with db.transaction() as s:
                        case = s.get(Case, s.get(WorkItem, wid).case_id)  # type: ignore[union-attr]
                        assert case is not None
                        review = advice.latest(s, case.id)
                        if not self._pre_reviewed(case, review):
                            self._capacity[key] += 1
                            continue  # the workbench shows the case once its pre-review is in
                        if kind == "accept":
                            # the clerk opens each upload: a wrong one (ground truth) is asked for again, whether or
                            # not the upload check could see it
                            seen = [
                                m["code"]
                                for m in case.materials
                                if m["state"] == "uploaded" and m["ref"] in self._wrong_docs
                            ]
                            if seen:
                                outcome, reason, missing = "supplement", "材料与申请不符", seen
                                self.counts["wrong_material_found_by_officer"] += 1
                        if kind == "decide" and rng.random() < REFUSED:
                            outcome, reason = "refuse", "不符合法定条件"
                        if review is not None:  # officers follow the pre-review's advice
                            if kind == "accept" and review.outcome == PreReviewOutcome.NEEDS_CORRECTION:
                                codes = {m["code"] for m in case.materials}
                                missing = sorted({c["material"] for c in review.corrections} & codes) or missing
                                outcome, reason = "supplement", review.summary
                            elif review.outcome == PreReviewOutcome.REFUSAL_SUGGESTED and kind in ("review", "decide"):
                                outcome, reason = ("fail" if kind == "review" else "refuse"), review.summary
                        done = service.complete_task(s, officer, wid, outcome, reason=reason, missing=missing)
                        decided = done.status in (CaseStatus.APPROVED, CaseStatus.REFUSED)
                        number = done.id
                    if outcome == "supplement":
                        self._pending.append((number, "resubmit"))
                    if decided:
                        self.counts[str(done.status)] += 1
                        if done.certificate_id:
                            self.counts["certificates_issued"] += 1
                        if rng.random() < RATED:
                            self._pending.append((number, "rate"))
                except DomainError as err:
                    log.debug("simulated task refused: %s", err.detail)
                    self.counts["task_errors"] += 1

    @staticmethod
    def _pre_reviewed(case: Case, advice: PreReview | None) -> bool:
        """Whether this submission's pre-review is in (officers wait for it, seconds in life; an
        hour at most, should the pre-review never come)."""
        if advice is not None and advice.round >= case.supplements + 1:
            return True
        since = case.submitted_at if advice is None else advice.created_at
        return since is None or clock.now() - since > timedelta(hours=1)

    def _follow_ups(self, db: Database, rng: np.random.Generator) -> None:
        pending, self._pending = self._pending, []
        for case_id, what in pending:
            try:
                with db.transaction() as s:
                    case = s.get(Case, case_id)
                    assert case is not None
                    channel = (
                        "proxy" if case.proxy_person_id else ("counter" if case.channel == "counter" else "online")
                    )
                    actor = self._actor_of(s, case, "online" if channel == "counter" else channel)
                    if what == "resubmit":
                        for m in service.missing_materials(case):
                            self._upload(s, rng, actor, case, m["code"], honest=True)
                        service.resubmit(s, actor, case_id)
                    else:
                        stars = int(rng.choice([x for x, _ in STARS], p=[p for _, p in STARS]))
                        comment = (
                            COMPLAINTS[int(rng.integers(len(COMPLAINTS)))] if stars <= 2 and rng.random() < 0.8 else ""
                        )
                        service.rate(s, actor, case_id, stars, comment)
                        self.counts["ratings"] += 1
                        self.counts["complaints"] += int(bool(comment))
            except (DomainError, LookupError) as err:
                log.debug("simulated follow-up refused: %s", err)

    # -- the report ----------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        c = self.counts
        out: dict[str, Any] = {
            k: int(c.get(k, 0))
            for k in (
                "applications",
                "online",
                "counter",
                "proxy",
                "approved",
                "refused",
                "certificates_issued",
                "ratings",
                "complaints",
                "told_missing_once",
                "not_submitted",
                "scans",
                "scans_forged",
                "scans_wrong_document",
                "titled_pages",
                "photos",
                "blank_pages_refused_at_upload",
                "upload_checks",
                "upload_checks_ok",
                "upload_checks_flagged",
                "upload_checks_officer",
                "replaced_after_upload_check",
                "replaced_a_wrong_material",
                "forgeries_replaced_after_upload_check",
                "uploads_kept_after_upload_check",
                "kept_uploads_not_forged",
                "submitted_with_flagged_material",
                "wrong_material_wrong_type",
                "wrong_material_someone_else",
                "wrong_material_expired",
                "wrong_material_unseen",
                "wrong_material_found_by_officer",
            )
        }
        out["bundles"] = {
            code: {**{k: int(v) for k, v in figures.items()}, "catalogue_burden": catalogue.bundle(code).burden()}
            for code, figures in self.bundle_counts.items()
        }
        for b in catalogue.bundles():
            out["bundles"].setdefault(b.code, {"applications": 0, "catalogue_burden": b.burden()})
        per_day = {
            "have-a-baby": self._population * BIRTHS_PER_RESIDENT_YEAR * BIRTHS_BUNDLED / 365,
            "open-restaurant": RESTAURANTS_PER_YEAR_AT_SCALE_1 * self.scale / 365,
            "death-in-family": self._population * DEATHS_PER_RESIDENT_YEAR / 365,
            "moving-house": self._population * MOVES_PER_RESIDENT_YEAR * MOVES_BUNDLED / 365,
        }
        for code, expected in per_day.items():
            out["bundles"][code]["expected_per_day_at_this_scale"] = round(expected, 3)
        out["life_events_seen"] = {k: int(v) for k, v in sorted(self.life_events.items())}
        out["not_submitted_reasons"] = dict(sorted(self.refusals.items(), key=lambda kv: -kv[1])[:8])
        if self._db is not None:
            out.update(self._rates(self._db))
            out.update(self._prereview_figures(self._db))
        return out

    def _prereview_figures(self, db: Database) -> dict[str, Any]:
        """AI pre-review: how many cases, what it concluded, how fast, and — against the
        simulation's ground truth — whether anything forged or ineligible went through unattended."""
        with db.sessions() as s:
            rows = list(
                s.execute(
                    select(
                        PreReview.case_id, PreReview.outcome, PreReview.acted, PreReview.seconds, PreReview.documents
                    )
                ).all()
            )
            submitted = s.scalar(select(func.count()).select_from(Case).where(Case.submitted_at.is_not(None))) or 0
            acted = [case_id for case_id, _o, a, _s, _d in rows if a]
            ineligible = self._ineligible(s, [c for c in acted if c not in self._forged])
            false_approvals = [c for c in acted if c in self._forged or c in ineligible]
        outcomes: dict[str, int] = defaultdict(int)
        for _c, outcome, _a, _s, _d in rows:
            outcomes[str(outcome)] += 1
        # pre-reviews that read at least one scan (a PDF no OCR reads takes no time)
        reading = sorted(sec for _c, _o, _a, sec, docs in rows if any(d.get("type") for d in docs))
        every = sorted(sec for _c, _o, _a, sec, _d in rows)
        cases = {c for c, *_ in rows}
        return {
            "prereviewed": len(cases),
            "prereviewed_share": round(len(cases) / submitted, 4) if submitted else None,
            "prereview_outcomes": dict(outcomes),
            "auto_approved": len(acted),
            "false_auto_approvals": len(false_approvals),
            "forged_cases": len(self._forged),
            "forged_cases_prereviewed_as": self._forged_outcomes(rows),
            **self._kept_figures(db, rows),
            "prereview_seconds_p50": round(float(np.median(reading)), 3) if reading else None,
            "prereview_seconds_p50_all": round(float(np.median(every)), 4) if every else None,
        }

    def _kept_figures(self, db: Database, rows: list[Any]) -> dict[str, Any]:
        """Forgeries the upload check flagged and the applicant replaced: how many the platform kept (by
        the forgery's kind: an expired or revoked certificate is genuine, not kept), and what became of
        their cases: sent to an officer because of the kept upload (the pre-review would otherwise have
        approved them unattended), or approved unattended all the same (goal: 0)."""
        routed: set[str] = set()
        with db.sessions() as s:
            for case_id, reasons in s.execute(
                select(PreReview.case_id, PreReview.reasons).where(PreReview.case_id.in_(list(self._kept_forged)))
            ):
                if any(
                    r.get("rule") == prereview.KEPT_RULE and (r.get("evidence") or {}).get("routed") for r in reasons
                ):
                    routed.add(case_id)
        acted = {case_id for case_id, _o, a, *_r in rows if a}
        reviewed = {case_id for case_id, *_r in rows}
        return {
            "forgeries_replaced_by_kind": dict(sorted(self.replaced_forgeries.items())),
            "forgeries_kept_by_kind": dict(sorted(self.kept_forgeries.items())),
            "forged_drafts_kept": len(self._kept_forged),
            "forged_drafts_kept_prereviewed": len(self._kept_forged & reviewed),
            "forged_drafts_kept_sent_to_officer": len((self._kept_forged & reviewed) - acted),
            "forged_drafts_kept_routed_by_kept_upload": len(routed - acted),
            "forged_drafts_kept_approved_unattended": len(self._kept_forged & acted),
        }

    def _forged_outcomes(self, rows: list[Any]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for case_id, outcome, *_rest in rows:
            if case_id in self._forged:
                out[str(outcome)] += 1
        return dict(out)

    @staticmethod
    def _ineligible(s: Session, case_ids: list[str]) -> set[str]:
        """The simulation's own eligibility check, from the registry (not the pre-review's DMN table):
        of ``case_ids``, those whose applicant was not eligible when decided (a case not found neither).
        The report runs it at every simulated day's end over every case approved unattended so far:
        the cases are read a few hundred a query, and only an item with an eligibility rule reads more."""
        out: set[str] = set()
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start : start + 500]
            found: set[str] = set()
            for case_id, item_code, person_id, decided_at in s.execute(
                select(Case.id, Case.item_code, Case.person_id, Case.decided_at).where(Case.id.in_(chunk))
            ):
                found.add(case_id)
                if catalogue.item(item_code).eligibility != "senior_citizen_card":
                    continue
                if not ServicesActor._senior(s, person_id, clock.local(decided_at or clock.now()).date()):
                    out.add(case_id)
            out.update(c for c in chunk if c not in found)
        return out

    @staticmethod
    def _senior(s: Session, person_id: int | None, on: date) -> bool:
        """60 or older on ``on``, with a Shanghai household registration or a valid residence permit."""
        person = s.get(Person, person_id) if person_id is not None else None
        if person is None:
            return False
        permit = s.scalar(
            select(Certificate.id)
            .where(
                Certificate.holder_kind == HolderKind.PERSON,
                Certificate.holder_id == person.id,
                Certificate.type_code == "residence_permit",
                Certificate.status == CertificateStatus.VALID,
            )
            .limit(1)
        )
        return age_on(person.birth_date, on) >= 60 and (person.hukou_region.startswith("31") or permit is not None)

    def _rates(self, db: Database) -> dict[str, Any]:
        """Read the rates the report gives from the case files themselves."""
        with db.sessions() as s:
            submitted = Case.submitted_at.is_not(None)
            decided = Case.status.in_([CaseStatus.APPROVED, CaseStatus.REFUSED])
            n = s.scalar(select(func.count()).select_from(Case).where(submitted)) or 0
            dec = s.scalar(select(func.count()).select_from(Case).where(decided)) or 0
            approved = s.scalar(select(func.count()).select_from(Case).where(Case.status == CaseStatus.APPROVED)) or 0
            issued = s.scalar(select(func.count()).select_from(Case).where(Case.certificate_id.is_not(None))) or 0
            first = s.scalar(select(func.count()).select_from(Case).where(decided, Case.supplements == 0)) or 0
            first_approved = (
                s.scalar(
                    select(func.count())
                    .select_from(Case)
                    .where(Case.status == CaseStatus.APPROVED, Case.supplements == 0)
                )
                or 0
            )
            within = s.scalar(select(func.count()).select_from(Case).where(decided, Case.within_limit.is_(True))) or 0
            fields, pre = s.execute(
                select(func.sum(Case.fields_total), func.sum(Case.fields_prefilled)).where(submitted)
            ).one()
            mats, held = s.execute(
                select(func.sum(Case.materials_total), func.sum(Case.materials_held)).where(submitted)
            ).one()
            open_overdue = s.scalar(select(func.count()).select_from(Case).where(Case.overdue.is_(True))) or 0
            in_progress = (
                s.scalar(
                    select(func.count())
                    .select_from(Case)
                    .where(Case.status.in_([CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW, CaseStatus.SUPPLEMENT]))
                )
                or 0
            )
            bundles_done = (
                s.scalar(
                    select(func.count())
                    .select_from(BundleApplication)
                    .where(BundleApplication.completed_at.is_not(None))
                )
                or 0
            )
        return {
            # decided by officers or unattended, from the case files
            "approved": int(approved),
            "refused": int(dec - approved),
            "certificates_issued": int(issued),
            "cases_in_files": int(n),
            "decided": int(dec),
            "in_progress": int(in_progress),
            # decided with no request for supplements (一次办成), refusals in one go included
            "first_time_pass_rate": round(first / dec, 4) if dec else None,
            # the stricter reading: approved with no request for supplements, of all decided
            "first_time_approved_rate": round(first_approved / dec, 4) if dec else None,
            "within_time_limit_rate": round(within / dec, 4) if dec else None,
            "overdue": int(open_overdue),
            "prefilled_field_share": round((pre or 0) / fields, 4) if fields else None,
            "materials_asked_per_application": round(((mats or 0) - (held or 0)) / n, 3) if n else None,
            "materials_held_per_application": round((held or 0) / n, 3) if n else None,
            "bundles_completed": int(bundles_done),
        }


def actors(scale: float) -> list[ServicesActor]:
    return [ServicesActor(scale)]
