""" "Who read my data": every audited read of the signed-in person's data, in plain words.

The entries are :func:`onecity.core.audit_queries.my_access_log`'s (the API's
``/api/v1/me/access-log`` shows the same); this page adds the names a resident reads:
the agency, the dataset's title and the fields' titles in their language, masked fields marked.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from onecity.api.deps import SessionDep
from onecity.core import audit_queries
from onecity.hub.catalogue.models import Dataset, DatasetField
from onecity.hub.sharing.service import person_subjects
from onecity.web.deps import PagePrincipalDep
from onecity.web.templating import render

router = APIRouter(include_in_schema=False)
LATEST = 200
#: Plain words for the audit actions a person meets here; any other shows its code.
ACTION_KEYS = {
    "core.user.created": "mydata.action.account_created",
    "core.user.updated": "mydata.action.account_updated",
    "core.user.read": "mydata.action.account_read",
    "hub.resident.linked": "mydata.action.resident_linked",
    "hub.dataset.record_read": "mydata.action.record_read",
    "hub.registry.person.read": "mydata.action.record_read",
    "hub.registry.certificate.read": "mydata.action.certificates_read",
    "services.case.read": "mydata.action.case_read",
    "credentials.credential.issued": "mydata.action.credential_issued",
    "credentials.credential.checked": "mydata.action.credential_checked",
    "credentials.credential.printed": "mydata.action.credential_printed",
    "credentials.credential.read": "mydata.action.credential_read",
    "ops.reporter.read": "mydata.action.reporter_read",
    "hub.power_of_attorney.granted": "services.proxy.action.granted",
    "hub.power_of_attorney.revoked": "services.proxy.action.revoked",
    "hub.relation.recorded": "services.proxy.action.relation_recorded",
}


@router.get("/me/data", response_class=HTMLResponse)
def my_data_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    entries = audit_queries.my_access_log(session, principal, limit=LATEST)
    codes = {e.detail.get("dataset") for e in entries if e.detail.get("dataset")}
    datasets = {d.code: d for d in session.scalars(select(Dataset).where(Dataset.code.in_(codes)))} if codes else {}
    titles: dict[tuple[str, str], DatasetField] = {}
    if datasets:
        by_id = {d.id: d.code for d in datasets.values()}
        for f in session.scalars(select(DatasetField).where(DatasetField.dataset_id.in_(by_id))):
            titles[(by_id[f.dataset_id], f.name)] = f
    return render(
        request,
        "my_data.html",
        entries=entries,
        datasets=datasets,
        titles=titles,
        action_keys=ACTION_KEYS,
        linked=bool(person_subjects(session, principal)),
    )
