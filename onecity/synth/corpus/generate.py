"""Generate documents with ground truth: genuine, degraded and forged, deterministic by seed.

``generate(roster, count=…, seed=…)`` yields :class:`Sample` objects: the encoded image, the
printed field values (the truth an extractor is scored against), each field's region, the
degradations applied and the forgery kind, if any. A sample's randomness comes only from
``random.Random(f"{seed}:{index}")``, so sample *i* is the same whatever else is generated.

Forgery kinds (what a fraudster actually does to an upload):

* ``bad_check_digit`` — a credit code or ID number with one character changed (fails GB 32100 /
  GB 11643 check characters);
* ``other_holder`` — a valid number that belongs to someone else, printed with this holder's name;
* ``name_mismatch`` — the holder's name changed (one character);
* ``expired`` — a genuine-looking certificate the registry holds as expired;
* ``revoked`` — a genuine-looking certificate the registry holds as revoked;
* ``edited_date`` — a date changed by hand (pasted over the printed one).
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from onecity.hub.registries.identifiers import ID_CHECK_CHARS, USCC_ALPHABET
from onecity.synth.corpus import degrade, family_b
from onecity.synth.corpus.draw import Box
from onecity.synth.corpus.layouts import LAYOUTS, Values
from onecity.synth.corpus.pdf import scan_pdf, text_pdf
from onecity.synth.corpus.records import CertFacts, FirmFacts, PersonFacts, Roster

DOC_TYPES: tuple[str, ...] = tuple(LAYOUTS)

#: The two families of printings (see :mod:`~onecity.synth.corpus.family_b`): their layouts and
#: their degradations. Family "a" is the original corpus; "b" was designed apart from it.
FAMILIES = ("a", "b")
_LAYOUTS = {"a": LAYOUTS, "b": family_b.LAYOUTS}
_DEGRADE = {"a": (degrade.DEGRADATIONS, degrade.apply), "b": (family_b.DEGRADATIONS, family_b.apply)}

#: The fields extracted from each type, in printing order (the benchmark scores these).
FIELDS: dict[str, tuple[str, ...]] = {
    "business_licence": ("uscc", "name", "legal_rep", "registered_capital", "established_on", "address", "issued_on"),
    "food_business_licence": (
        "name",
        "uscc",
        "legal_rep",
        "premises",
        "business_items",
        "number",
        "valid_until",
        "issued_on",
    ),
    "id_card": ("name", "sex", "birth_date", "address", "id_number"),
    "real_estate_certificate": ("number", "holder_name", "address", "use", "area_m2", "issued_on"),
    "invoice": (
        "number",
        "issued_on",
        "buyer_name",
        "buyer_uscc",
        "seller_name",
        "seller_uscc",
        "amount",
        "tax",
        "total",
    ),
    "application_letter": ("name", "id_number", "address", "phone", "item", "signed_on"),
}

#: Which document types each forgery kind can be made on.
FORGERIES: dict[str, tuple[str, ...]] = {
    "bad_check_digit": ("business_licence", "food_business_licence", "id_card", "invoice", "application_letter"),
    "other_holder": (
        "business_licence",
        "food_business_licence",
        "id_card",
        "real_estate_certificate",
        "invoice",
        "application_letter",
    ),
    "name_mismatch": (
        "business_licence",
        "food_business_licence",
        "id_card",
        "real_estate_certificate",
        "application_letter",
    ),
    "expired": ("id_card", "food_business_licence"),
    "revoked": ("business_licence", "food_business_licence", "id_card", "real_estate_certificate"),
    "edited_date": ("business_licence", "food_business_licence", "id_card", "real_estate_certificate"),
}

#: The certificate type each document type is a copy of (None: not a certificate).
CERT_TYPE: dict[str, str | None] = {
    "business_licence": "business_licence",
    "food_business_licence": "food_business_licence",
    "id_card": "id_card",
    "real_estate_certificate": "real_estate_certificate",
    "invoice": None,
    "application_letter": None,
}

ITEMS = ("上海市敬老卡", "上海市居住证", "最低生活保障", "残疾人两项补贴")
REASONS = (
    "本人已年满六十周岁，户籍在本市。",
    "本人在本市合法稳定就业并居住。",
    "本人家庭收入低于本市最低生活保障标准。",
    "本人持有残疾人证，生活困难。",
)
NAME_SWAP = "伟强磊军勇杰涛斌明刚平辉鹏华飞芳娜敏静丽艳娟霞玲婷雪慧琳颖"
TRADE_SWAP = "华盛鑫源泰丰恒达信诚嘉禾瑞祥宏远润博凯越锦程"


@dataclass
class Sample:
    """One generated document and everything known about it."""

    index: int
    doc_type: str
    truth: Values
    regions: dict[str, Box]
    image: bytes
    media_type: str
    degradations: tuple[str, ...] = ()
    forgery: str | None = None
    #: the registry identifiers behind the document (holder, certificate), for the cross-checks
    holder_identifier: str | None = None
    certificate_number: str | None = None
    as_of: date = field(default_factory=lambda: date(2026, 1, 1))

    @property
    def clean(self) -> bool:
        return not self.degradations

    def fields(self) -> dict[str, str]:
        """The scored fields' true values."""
        return {k: self.truth[k] for k in FIELDS[self.doc_type]}


class CannotForge(LookupError):
    """The roster has nothing to make this forgery from (no revoked certificate of the type, say)."""


def _swap_char(rng: random.Random, text: str, pool: str, *, start: int = 1) -> str:
    """The text with one character (from ``start`` on) replaced by another from ``pool``."""
    positions = [i for i in range(start, len(text)) if text[i] in pool] or list(range(start, len(text)))
    i = rng.choice(positions)
    choices = [c for c in pool if c != text[i]]
    return text[:i] + rng.choice(choices) + text[i + 1 :]


def bad_check_char(rng: random.Random, number: str) -> str:
    """The number with its check character replaced by a different, well-formed one."""
    alphabet = ID_CHECK_CHARS if len(number) == 18 and number[:17].isdigit() else USCC_ALPHABET
    return number[:-1] + rng.choice([c for c in alphabet if c != number[-1]])


def _firm_kind(firm: FirmFacts) -> str:
    if firm.kind == "92":
        return "个体工商户"
    if firm.kind == "93":
        return "农民专业合作社"
    return "有限责任公司（自然人投资或控股）"


def _licence_values(firm: FirmFacts, cert: CertFacts) -> Values:
    return {
        "uscc": firm.uscc,
        "name": firm.name,
        "kind": _firm_kind(firm),
        "legal_rep": firm.legal_rep,
        "registered_capital": f"{firm.capital:.2f}",
        "established_on": firm.established_on.isoformat(),
        "address": firm.address,
        "issued_on": cert.issued_on.isoformat(),
        "issuer": cert.issuer,
    }


def _food_values(firm: FirmFacts, cert: CertFacts) -> Values:
    valid_until = cert.valid_until or cert.issued_on.replace(year=cert.issued_on.year + 5)
    return {
        "name": firm.name,
        "uscc": firm.uscc,
        "legal_rep": firm.legal_rep,
        "premises": str(cert.data.get("premises") or firm.address),
        "business_items": str(cert.data.get("business_items") or "热食类食品制售"),
        "number": cert.number,
        "valid_until": valid_until.isoformat(),
        "issued_on": cert.issued_on.isoformat(),
        "issuer": cert.issuer,
    }


def _id_values(person: PersonFacts, cert: CertFacts) -> Values:
    return {
        "name": person.name,
        "sex": "男" if person.sex == "M" else "女",
        "birth_date": person.birth_date.isoformat(),
        "address": str(cert.data.get("address") or person.address),
        "id_number": person.id_number,
    }


def _estate_values(cert: CertFacts, rng: random.Random) -> Values:
    unit = (
        f"{cert.holder_identifier[:6]}{rng.randint(0, 999):03d}{rng.randint(0, 999):03d}"
        f"GB{rng.randint(0, 99999):05d}F{rng.randint(0, 99999999):08d}"
    )
    return {
        "number": cert.number,
        "holder_name": cert.holder_name,
        "address": str(cert.data.get("address", "")),
        "use": str(cert.data.get("use", "住宅")),
        "area_m2": f"{float(cert.data.get('area_m2', 0)):.2f}",
        "issued_on": cert.issued_on.isoformat(),
        "issuer": cert.issuer,
        "unit": unit,
    }


class Generator:
    """Builds samples from a roster; ``as_of`` is the day the documents are presented."""

    def __init__(self, roster: Roster, *, seed: int, as_of: date = date(2026, 1, 1), family: str = "a") -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown document family {family!r}; one of {', '.join(FAMILIES)}")
        self.roster, self.seed, self.as_of, self.family = roster, seed, as_of, family
        self._holder: str | None = None
        self._item: str | None = None

    def sample(
        self,
        index: int,
        doc_type: str,
        *,
        degradations: tuple[str, ...] = (),
        forgery: str | None = None,
        holder: str | None = None,
        item: str | None = None,
        pdf: str | None = None,
    ) -> Sample:
        """Sample ``index`` of ``doc_type``; raises :class:`CannotForge` if the roster lacks the material.

        ``holder`` (an ID number or credit code in the roster, see :meth:`Roster.add_holder`) prints
        that holder's document, as an applicant uploading their own would; ``item`` is the service
        an application letter asks for (one of :data:`ITEMS`). ``pdf`` delivers it as a PDF:
        ``"scan"`` (the page image in a PDF) or ``"text"`` (a family-b page exported with its text
        layer, see :mod:`~onecity.synth.corpus.pdf`).
        """
        self._holder, self._item = holder, item
        if doc_type not in LAYOUTS:
            raise ValueError(f"unknown document type {doc_type!r}; one of {', '.join(LAYOUTS)}")
        if forgery is not None and doc_type not in FORGERIES.get(forgery, ()):
            raise CannotForge(f"a {doc_type} cannot carry the forgery {forgery!r}")
        rng = random.Random(f"{self.seed}:{index}:{doc_type}" + ("" if self.family == "a" else f":{self.family}"))
        values, holder, cert_number, edited = self._values(doc_type, forgery, rng)
        page, regions = _LAYOUTS[self.family][doc_type](values, rng, edited)
        image = _DEGRADE[self.family][1](page.image, list(degradations), rng)
        buf = io.BytesIO()
        if pdf == "text":  # exported by the issuing system: every string a text object, no pixels
            texts = getattr(page, "texts", None)
            if texts is None or degradations:
                raise ValueError("a text-layer PDF is made of an undegraded family-b page")
            buf.write(text_pdf([(page.image.size, texts)]))
            media_type = "application/pdf"
        elif pdf == "scan":  # a scan or a phone app's PDF: the page as an image
            buf.write(scan_pdf([image]))
            media_type = "application/pdf"
        elif "jpeg" in degradations:
            image.save(buf, "JPEG", quality=rng.randint(22, 40))
            media_type = "image/jpeg"
        else:
            image.save(buf, "PNG", optimize=False, compress_level=3)
            media_type = "image/png"
        return Sample(
            index,
            doc_type,
            values,
            regions,
            buf.getvalue(),
            media_type,
            tuple(degradations),
            forgery,
            holder,
            cert_number,
            self.as_of,
        )

    # -- values ---------------------------------------------------------------------------------

    def _pick_cert(self, rng: random.Random, type_code: str, forgery: str | None) -> CertFacts:
        if forgery == "revoked":
            pool = self.roster.certs_of(type_code, status="revoked")
        elif forgery == "expired":
            pool = self.roster.certs_of(type_code, expired_by=self.as_of)
        else:
            pool = [
                c
                for c in self.roster.certs_of(type_code, status="valid")
                if c.valid_until is None or c.valid_until >= self.as_of
            ]
        if self._holder is not None:
            pool = [c for c in pool if c.holder_identifier == self._holder]
        if type_code in ("business_licence", "food_business_licence"):
            pool = [c for c in pool if self.roster.firm(c.holder_identifier) is not None]
        elif type_code == "id_card":
            pool = [c for c in pool if self.roster.person(c.holder_identifier) is not None]
        if not pool:
            raise CannotForge(f"the roster has no {forgery or 'valid'} {type_code} to print")
        return rng.choice(pool)

    def _values(
        self, doc_type: str, forgery: str | None, rng: random.Random
    ) -> tuple[Values, str | None, str | None, str | None]:
        """(printed values, holder identifier, certificate number, hand-edited field)."""
        edited: str | None = None
        if doc_type in ("business_licence", "food_business_licence"):
            cert = self._pick_cert(rng, doc_type, forgery)
            firm = self.roster.firm(cert.holder_identifier)
            assert firm is not None
            values = _licence_values(firm, cert) if doc_type == "business_licence" else _food_values(firm, cert)
            holder, number = firm.uscc, cert.number
            if forgery == "bad_check_digit":
                values["uscc"] = bad_check_char(rng, firm.uscc)
            elif forgery == "other_holder":
                values["uscc"] = rng.choice([f.uscc for f in self.roster.firms if f.uscc != firm.uscc])
            elif forgery == "name_mismatch":
                values["name"] = _swap_char(rng, firm.name, TRADE_SWAP, start=2)
            elif forgery == "edited_date":
                edited = "established_on" if doc_type == "business_licence" else "valid_until"
                d = date.fromisoformat(values[edited])
                values[edited] = (
                    d.replace(year=d.year + rng.choice((-3, -2, 2, 3, 5)), day=min(d.day, 28))
                ).isoformat()
            return values, holder, number, edited
        if doc_type == "id_card":
            cert = self._pick_cert(rng, "id_card", forgery)
            person = self.roster.person(cert.holder_identifier)
            assert person is not None
            values = _id_values(person, cert)
            if forgery == "bad_check_digit":
                values["id_number"] = bad_check_char(rng, person.id_number)
            elif forgery == "other_holder":
                values["id_number"] = rng.choice(
                    [
                        p.id_number
                        for p in self.roster.persons
                        if p.id_number != person.id_number and p.sex == person.sex
                    ]
                )
            elif forgery == "name_mismatch":
                values["name"] = _swap_char(rng, person.name, NAME_SWAP)
            elif forgery == "edited_date":
                edited = "birth_date"
                values["birth_date"] = (
                    person.birth_date.replace(day=min(person.birth_date.day, 28))
                    - timedelta(days=365 * rng.choice((3, 5, 8)))
                ).isoformat()
            return values, person.id_number, cert.number, edited
        if doc_type == "real_estate_certificate":
            cert = self._pick_cert(rng, doc_type, forgery)
            values = _estate_values(cert, rng)
            if forgery == "other_holder":
                values["number"] = rng.choice(
                    [c.number for c in self.roster.certs_of(doc_type) if c.holder_identifier != cert.holder_identifier]
                )
            elif forgery == "name_mismatch":
                values["holder_name"] = _swap_char(rng, cert.holder_name, NAME_SWAP)
            elif forgery == "edited_date":
                edited = "issued_on"
                values["issued_on"] = cert.issued_on.replace(
                    year=cert.issued_on.year - rng.choice((1, 2, 4)), day=min(cert.issued_on.day, 28)
                ).isoformat()
            return values, cert.holder_identifier, cert.number, edited
        if doc_type == "invoice":
            active = [f for f in self.roster.firms if f.status == "active"]  # a cancelled firm invoices no one
            seller, buyer = rng.sample(active, 2)
            amount = round(rng.uniform(80, 20000), 2)
            tax = round(amount * 0.06, 2)
            issued = self.as_of - timedelta(days=rng.randint(1, 200))
            values = {
                "number": f"{issued:%y}31200000{rng.randint(0, 10**10 - 1):010d}",
                "issued_on": issued.isoformat(),
                "buyer_name": buyer.name,
                "buyer_uscc": buyer.uscc,
                "seller_name": seller.name,
                "seller_uscc": seller.uscc,
                "amount": f"{amount:.2f}",
                "tax": f"{tax:.2f}",
                "total": f"{amount + tax:.2f}",
            }
            if forgery == "bad_check_digit":
                values["seller_uscc"] = bad_check_char(rng, seller.uscc)
            elif forgery == "other_holder":
                values["seller_uscc"] = rng.choice([f.uscc for f in active if f.uscc not in (seller.uscc, buyer.uscc)])
            return values, seller.uscc, None, None
        # application letter
        pinned = self.roster.person(self._holder) if self._holder is not None else None
        person = pinned if pinned is not None else rng.choice(self.roster.persons)
        district = person.address[3 : person.address.index("区") + 1] if "区" in person.address[:8] else "黄浦区"
        k = ITEMS.index(self._item) if self._item in ITEMS else rng.randrange(len(ITEMS))
        values = {
            "name": person.name,
            "id_number": person.id_number,
            "address": person.address,
            "phone": rng.choice(("139", "138", "150", "158", "186")) + f"{rng.randint(0, 10**8 - 1):08d}",
            "item": ITEMS[k],
            "reason": REASONS[k],
            "addressee": f"上海市{district}民政局",
            "signed_on": (self.as_of - timedelta(days=rng.randint(0, 20))).isoformat(),
        }
        if forgery == "bad_check_digit":
            values["id_number"] = bad_check_char(rng, person.id_number)
        elif forgery == "other_holder":  # a real number, of somebody else
            values["id_number"] = rng.choice(
                [p.id_number for p in self.roster.persons if p.id_number != person.id_number]
            )
        elif forgery == "name_mismatch":
            values["name"] = _swap_char(rng, person.name, NAME_SWAP)
        return values, person.id_number, None, None


def plan(
    count: int,
    seed: int,
    *,
    degraded_share: float = 0.5,
    forged_share: float = 0.25,
    types: tuple[str, ...] = DOC_TYPES,
    family: str = "a",
) -> list[tuple[int, str, tuple[str, ...], str | None]]:
    """(index, type, degradations, forgery) for ``count`` documents: types in turn, a share
    degraded (one or two degradations), a share forged (kinds in turn among those the type allows)."""
    rng = random.Random(f"plan:{seed}" + ("" if family == "a" else f":{family}"))
    out = []
    names = list(_DEGRADE[family][0])
    kinds = {t: [k for k, ts in FORGERIES.items() if t in ts] for t in types}
    turn = {t: 0 for t in types}
    for i in range(count):
        doc_type = types[i % len(types)]
        degradations: tuple[str, ...] = ()
        if rng.random() < degraded_share:
            degradations = tuple(rng.sample(names, 1 if rng.random() < 0.6 else 2))
        forgery = None
        if kinds[doc_type] and rng.random() < forged_share:
            forgery = kinds[doc_type][turn[doc_type] % len(kinds[doc_type])]
            turn[doc_type] += 1
        out.append((i, doc_type, degradations, forgery))
    return out


def generate(
    roster: Roster,
    count: int,
    seed: int,
    *,
    as_of: date = date(2026, 1, 1),
    degraded_share: float = 0.5,
    forged_share: float = 0.25,
    types: tuple[str, ...] = DOC_TYPES,
    family: str = "a",
) -> Iterator[Sample]:
    """``count`` samples of one family (a forgery the roster cannot support is made as a genuine
    document instead)."""
    gen = Generator(roster, seed=seed, as_of=as_of, family=family)
    for index, doc_type, degradations, forgery in plan(
        count, seed, degraded_share=degraded_share, forged_share=forged_share, types=types, family=family
    ):
        try:
            yield gen.sample(index, doc_type, degradations=degradations, forgery=forgery)
        except CannotForge:
            yield gen.sample(index, doc_type, degradations=degradations)
