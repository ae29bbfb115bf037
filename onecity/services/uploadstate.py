"""Where each upload's check stands, kept on the case's material entry (``check``): the states, what a new
upload starts with, and what stops a submission.

Apart from :mod:`onecity.services.uploadcheck` (which reads the page through the pre-review) so that the
case and task functions can ask where a check stands without importing the reading, which imports them.
"""

from __future__ import annotations

from typing import Any

from onecity.core.errors import InvalidInput, Words
from onecity.services import catalogue
from onecity.services.models import Case, CaseStatus, MaterialState

CHECKING = "checking"  # 正在核验：the upload waits for the document workers
OK = "ok"  # 核验通过
FLAGGED = "flagged"  # 材料有误：what is wrong and what to upload instead
OFFICER = "officer"  # 人工核验：no machine reads this material (or could read this upload)
STATUSES = (CHECKING, OK, FLAGGED, OFFICER)


#: The checks whose failure says the document itself was altered or made up (an authenticity failure):
#: a number failing its check character, a holder, name or date the registries do not have, a
#: certificate the registry does not hold, fields that contradict each other (a birth date the ID
#: number does not encode, a total that is not amount plus tax). An honest mistake fails others: the
#: wrong kind of document (``document.type``), someone else's genuine one (``application.holder``,
#: the form's values), an expired or revoked certificate or a deregistered firm (genuine, no longer
#: valid), a field no machine could read (``field.read``). A seal check, when the reader has one,
#: belongs here.
AUTHENTICITY_RULES = frozenset(
    {
        "identifier.check_digit",
        "registry.holder_exists",
        "registry.holder_name",
        "registry.birth_date",
        "registry.established_on",
        "registry.issued_on",
        "registry.valid_until",
        "certificate.exists",
        "consistency.birth_date",
        "consistency.sex",
        "consistency.total",
    }
)


def authenticity_failure(rule: str) -> bool:
    """Whether a failed check of this rule says the document is not genuine (not an honest mistake)."""
    return rule in AUTHENTICITY_RULES


def suspect(check: dict[str, Any] | None) -> bool:
    """Whether an upload's check result flagged it for failing an authenticity check: such an upload is
    kept (:mod:`onecity.services.keptuploads`) when replaced or removed, never discarded."""
    if not check:
        return False
    return check.get("status") == FLAGGED and bool(check.get("authenticity"))


def checked_by_machine(material: str) -> bool:
    """Whether a machine checks an upload of ``material``: read whole (``reads_as``), by its heading
    (``titles``), or a photo looked at for one face (``portrait``)."""
    spec = catalogue.material(material)
    return bool(spec.reads_as or spec.titles or spec.portrait)


def pending(document_id: str, material: str) -> dict[str, Any]:
    """The check a new upload starts with: checking when a machine checks the material, else an officer's."""
    return {"document_id": document_id, "status": CHECKING if checked_by_machine(material) else OFFICER}


def flagged(case: Case) -> list[dict[str, Any]]:
    """The materials whose current upload the check flagged as wrong."""
    return [
        m
        for m in case.materials
        if m["state"] == MaterialState.UPLOADED
        and (m.get("check") or {}).get("status") == FLAGGED
        and m["check"].get("document_id") == m.get("ref")
    ]


def require_confirmed(case: Case, *, confirmed: bool) -> None:
    """Refuse to submit a case with a material the check flagged, unless the applicant confirms it."""
    if confirmed or case.status != CaseStatus.DRAFT:
        return
    wrong = flagged(case)
    if not wrong:
        return
    raise InvalidInput(
        "the upload check found problems with "
        + "; ".join(f"{m['name']} / {m['name_en']} ({m['code']})" for m in wrong)
        + ": replace them, or confirm (confirm_flagged) that you submit them as they are — "
        "an officer would ask for them again",
        words=Words("services.check.confirm_needed", {"count": str(len(wrong))}),
        flagged=[m["code"] for m in wrong],
    )
