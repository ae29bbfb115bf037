"""Pages of the credentials: the public check (from the QR code) and the holder's certificates.

The QR code on a certificate encodes the short link ``<public URL>/verify/<credential id>``,
not the JWT itself: a credential JWT is 1.5–2.5 KB, which needs a QR code of version 30–40
(137–177 modules a side), too dense to print small and scan with a worn phone camera; the
link fits in version 5 (37 modules) with error correction level M. The page behind the
link runs the complete check on the stored JWT. For verifiers that work offline the
holder's page also shows a second, larger code holding the whole JWT, when it fits.

``/verify?c=<jwt>`` checks a pasted or scanned JWT; ``/.well-known/jwks.json`` publishes
the keys. The router's lifespan binds the app's secret to its database (the signing keys
are sealed with it; see :mod:`onecity.credentials.keys`).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, FastAPI, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from segno import DataOverflowError
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.core import clock, policy
from onecity.core.errors import AuthenticationRequired, DomainError, InvalidInput, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.credentials import keys, printout, service
from onecity.credentials.api import PUBLIC_BUDGET as _BUDGET
from onecity.credentials.api import public, verify_url
from onecity.credentials.models import Credential, CredentialStatus
from onecity.hub.registries.models import CertificateType
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import say, translate
from onecity.web.templating import current_language, render


@asynccontextmanager
async def _bind_secret(app: FastAPI) -> AsyncIterator[None]:
    keys.use_secret(app.state.db, app.state.settings.secret_key)
    yield


router = APIRouter(include_in_schema=False, lifespan=_bind_secret)
CredentialId = Annotated[str, Path(max_length=36)]


def first_day(value: datetime | None) -> str:
    """The local (Shanghai) date a validity period starts on."""
    return clock.local(value).date().isoformat() if value is not None else ""


def last_day(value: datetime | None) -> str:
    """The last local date of a validity period whose end (``validUntil``) is the next midnight."""
    return (clock.local(value) - timedelta(seconds=1)).date().isoformat() if value is not None else ""


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


@router.get("/.well-known/jwks.json")
def jwks(session: SessionDep) -> Response:
    """The issuer's public keys (RFC 7517 JWK Set), current first, retired ones kept."""
    return JSONResponse(
        keys.jwks(session), media_type="application/jwk-set+json", headers={"Cache-Control": "public, max-age=300"}
    )


def _verify_page(request: Request, session: Session, c: str | None) -> Response:
    result = facts = None
    if c is not None and c.strip():
        _BUDGET.hit(_client(request))
        result = service.verify(session, c)
        facts = service.facts(result.claims)
    return render(
        request,
        "credentials/verify.html",
        result=result,
        facts=facts,
        token=c or "",
        no_store=True,
        first_day=first_day,
        last_day=last_day,
    )


@router.get("/verify", response_class=HTMLResponse)
def verify_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    c: Annotated[str | None, Query(max_length=64 * 1024)] = None,
) -> Response:
    """The form, or the check of ``?c=<jwt>`` (a link can carry a credential this way)."""
    return _verify_page(request, session, c)


@router.post("/verify", response_class=HTMLResponse)
def verify_posted(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    c: Annotated[str, Form(max_length=64 * 1024)] = "",
) -> Response:
    """The pasted credential, posted so it stays out of URLs and access logs."""
    return _verify_page(request, session, c)


@router.get("/verify/{credential_id}", response_class=HTMLResponse)
def verify_by_id(
    credential_id: CredentialId, request: Request, session: SessionDep, principal: PagePrincipalDep
) -> Response:
    _BUDGET.hit(_client(request))
    check = service.check_by_id(session, principal, credential_id)
    return render(
        request,
        "credentials/verify.html",
        result=check.verification,
        facts=check.facts,
        token="",
        by_id=True,
        no_store=True,
        first_day=first_day,
        last_day=last_day,
    )


@router.get("/credentials", response_class=HTMLResponse)
def my_credentials_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    creds = public(session, service.my_credentials(session, principal))
    return render(request, "credentials/mine.html", creds=creds, first_day=first_day, last_day=last_day)


def qr_svg(data: str, *, scale: int = 4) -> str | None:
    """An SVG QR code (error correction M, or L when the data is large); None if it cannot fit."""
    try:
        qr = segno.make_qr(data, error="m", boost_error=False)
    except DataOverflowError:
        try:
            qr = segno.make_qr(data, error="l", boost_error=False)
        except DataOverflowError:
            return None
    out = io.BytesIO()
    qr.save(
        out,
        kind="svg",
        scale=scale,
        border=4,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        title="QR",
        nl=False,
    )
    return out.getvalue().decode("utf-8")


#: What an officer may do to a credential in each state: (target status, action guarding it).
STAFF_ACTIONS: dict[CredentialStatus, tuple[tuple[CredentialStatus, str], ...]] = {
    CredentialStatus.ACTIVE: (
        (CredentialStatus.SUSPENDED, "credentials.credential.suspend"),
        (CredentialStatus.REVOKED, "credentials.credential.revoke"),
    ),
    CredentialStatus.SUSPENDED: (
        (CredentialStatus.ACTIVE, "credentials.credential.reinstate"),
        (CredentialStatus.REVOKED, "credentials.credential.revoke"),
    ),
    CredentialStatus.REVOKED: (),
}


def _detail(
    request: Request,
    session: Session,
    principal: Principal,
    credential_id: str,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    cred = service.get_credential(session, principal, credential_id, purpose="holder or staff view of a credential")
    view = public(session, [cred])[0]
    full = qr_svg(cred.jwt, scale=2)
    facts = service.facts(keys.parse_compact(cred.jwt).payload, masked=False)
    actions = [
        target
        for target, action in STAFF_ACTIONS[CredentialStatus(cred.status)]
        if principal.kind is PrincipalKind.STAFF and policy.may(principal, action)
    ]
    return render(
        request,
        "credentials/detail.html",
        status_code=status_code,
        cred=view,
        facts=facts,
        verify_link=verify_url(cred.id),
        full_qr_fits=full is not None,
        first_day=first_day,
        last_day=last_day,
        staff_actions=actions,
        error=error,
    )


@router.get("/credentials/{credential_id}", response_class=HTMLResponse)
def credential_page(
    credential_id: CredentialId, request: Request, session: SessionDep, principal: PagePrincipalDep
) -> Response:
    return _detail(request, session, principal, credential_id)


@router.post("/credentials/{credential_id}/status", response_class=HTMLResponse)
def credential_status(
    credential_id: CredentialId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    status: Annotated[str, Form(max_length=12)],
    reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """An officer revokes, suspends or reinstates from the credential's page (the form carries the CSRF token)."""
    try:
        with session.begin_nested():
            service.change_status(session, principal, credential_id, status, reason)
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:  # say what was wrong on the same page, nothing saved
        return _detail(
            request,
            session,
            principal,
            credential_id,
            status_code=err.status,
            error=say(current_language(request), err),
        )
    return RedirectResponse(f"/credentials/{credential_id}", status_code=303)


@router.get("/credentials/{credential_id}/qr.svg")
def credential_qr(
    credential_id: CredentialId,
    session: SessionDep,
    principal: PagePrincipalDep,
    kind: Annotated[str, Query(pattern="^(link|full)$")] = "link",
) -> Response:
    """The QR code of the verify link (``kind=link``) or of the whole JWT (``kind=full``), as SVG."""
    cred = service.get_credential(session, principal, credential_id, purpose="holder or staff view of a credential")
    svg = qr_svg(verify_url(cred.id), scale=8) if kind == "link" else qr_svg(cred.jwt, scale=3)
    if svg is None:
        raise InvalidInput("this credential is too long for a single QR code; use the verification link code")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def _printout(session: Session, cred: Credential, lang: str) -> printout.Printout:
    """What the PDF shows, in Chinese; an English reader's printout adds English beside it."""
    claims = keys.parse_compact(cred.jwt).payload
    facts = service.facts(claims, masked=False)
    assert facts is not None  # a stored credential's claims always read
    subject = claims.get("credentialSubject") or {}
    cert = subject.get("certificate") or {}
    ctype = session.get(CertificateType, cred.type_code)
    surface = {f["name"]: f["name_zh"] for f in (ctype.metadata_fields.get("surface") or [])} if ctype else {}

    def words(key: str, **params: str) -> str:
        zh = translate("zh", key, **params)
        return zh if lang == "zh" else f"{zh} {translate('en', key, **params)}"

    def field_label(name: str) -> str:
        zh = surface.get(name, name)
        return zh if lang == "zh" else f"{zh} {name.replace('_', ' ').capitalize()}"

    until = last_day(facts.valid_until) if facts.valid_until else words("credentials.verify.no_end")
    lines = [
        printout.Line(words("credentials.verify.holder"), facts.holder_name),
        printout.Line(words("credentials.verify.identifier"), facts.holder_identifier),
        printout.Line(words("credentials.verify.number"), facts.number),
        *(
            printout.Line(field_label(str(name)), str(value))
            for name, value in (cert.get("data") or {}).items()
            if value not in (None, "")
        ),
        printout.Line(words("credentials.pdf.issued_on"), str(cert.get("issuedOn", ""))),
        printout.Line(words("credentials.verify.valid_from"), first_day(facts.valid_from)),
        printout.Line(words("credentials.verify.valid_until"), until),
        printout.Line(words("credentials.verify.issuer"), facts.issuer),
    ]
    status = CredentialStatus(cred.status)
    note = "" if status is CredentialStatus.ACTIVE else words(f"credentials.pdf.{status.value}")
    when = clock.local(clock.now()).strftime("%Y-%m-%d %H:%M")
    return printout.Printout(
        title=facts.type_name or (ctype.name if ctype else ""),
        subtitle=(facts.type_name_en or (ctype.name_en if ctype else "")) if lang != "zh" else "",
        lines=lines,
        issuer=facts.issuer,
        verify_link=verify_url(cred.id),
        status_note=note,
        scan_hint=translate(lang, "credentials.pdf.scan"),
        footer=[words("credentials.pdf.note"), words("credentials.pdf.printed", when=when, id=cred.id)],
    )


@router.get("/credentials/{credential_id}/certificate.pdf")
def credential_pdf(
    credential_id: CredentialId, request: Request, session: SessionDep, principal: PagePrincipalDep
) -> Response:
    """The printable PDF (fields, issuer, dates, the verification QR code); each download audited."""
    cred = service.credential_for_print(
        session, principal, credential_id, purpose="printout of a credential for its holder"
    )
    body = printout.render(_printout(session, cred, current_language(request)))
    name = f"certificate-{cred.id}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
