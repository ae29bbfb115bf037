"""How many credentials a second the public check verifies, against a bare Ed25519 verify.

The public check (``POST /api/v1/credentials/verify``, the ``/verify`` page) is what every
counter, inspector and shop that is shown a certificate calls, so it must be cheap. One
check is: split and strictly decode the compact JWS, check the header, find the key by
``kid`` in the database, verify the Ed25519 signature, check the dates, then for each of the
two ``BitstringStatusListEntry`` objects read the bit through the signed status list
credential (signed once per list version and decoded once per version, then cached).

Figures per backend (a fresh database with ``--credentials`` issued, a tenth of them
revoked and a tenth suspended): ``issue_per_s`` (one credential per transaction, with the
random status-list allocation), ``verify_per_s`` (the whole check through the service
function, in one session), ``verify_status_cold_per_s`` (the same with the status-list
caches cleared before every check: the first check after a status change).

Baselines in the same run, over the same JWTs: ``ed25519_verify_per_s`` (``cryptography``'s
verify of the signing input alone, no parsing: the floor of any JWS check) and
``pyjwt_decode_per_s`` (PyJWT's decode with the key: what a typical JOSE library does,
without any status check). **Ratio** = verify rate / baseline rate.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import Any

from bench._common import Stopwatch, csv_choice, database_url, emit, log, parser, rate, ratio

NAME = "credentials_verify"


def _populate(db: Any, count: int) -> list[int]:
    """Certificate types, one resident, one firm and ``count`` certificates; their ids."""
    from onecity.core.identity.principal import system_principal
    from onecity.hub.registries import service as registry
    from onecity.hub.registries.certtypes import CERT_TYPES
    from onecity.hub.registries.identifiers import make_resident_id, make_uscc
    from onecity.hub.registries.models import CertificateType, HolderKind, LegalPerson, Person

    system = system_principal("bench")
    with db.transaction() as s:
        for t in CERT_TYPES:
            s.add(
                CertificateType(
                    code=t.code.value,
                    name=t.name,
                    name_en=t.name_en,
                    holder_kind=t.holder_kind,
                    issuer_department=t.issuer_department,
                    validity_years=t.validity_years,
                    metadata_fields=t.metadata_fields(),
                )
            )
        s.add(
            Person(
                id=1,
                id_number=make_resident_id("310104", date(1988, 3, 14), 27),
                name="王小梅",
                sex="F",
                birth_date=date(1988, 3, 14),
                hukou_region="310104",
                division_code="310104003000",
                address="天平路 1 号",
                phone=None,
            )
        )
        s.flush()
        s.add(
            LegalPerson(
                id=1,
                uscc=make_uscc("92", "310104", "MA1K2L3M"),
                name="上海小梅餐饮店",
                kind="92",
                industry="H",
                legal_rep_id=1,
                division_code="310104003000",
                address="天平路 2 号",
                established_on=date(2024, 5, 1),
                registered_capital=10.0,
            )
        )
    ids = []
    with db.transaction() as s:
        for i in range(count):
            cert = registry.issue_certificate(
                s,
                system,
                type_code="food_business_licence",
                holder_kind=HolderKind.LEGAL_PERSON,
                holder_id=1,
                number=f"JY3310104{i:08d}",
                issuer="徐汇区市场监督管理局",
                issued_on=date(2026, 3, 2),
                data={"business_items": "热食类食品制售", "premises": "天平路 2 号"},
            )
            ids.append(cert.id)
    return ids


def run_backend(backend: str, count: int, rounds: int) -> tuple[dict[str, Any], dict[str, Any]]:
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from onecity.core import migrate
    from onecity.core.db import Database
    from onecity.core.identity.principal import system_principal
    from onecity.credentials import keys, service, statuslist, vc

    system = system_principal("bench")
    with database_url(backend, "cred") as url:
        db = Database(url)
        try:
            migrate.upgrade(db)
            keys.use_secret(db, secrets.token_urlsafe(48))
            cert_ids = _populate(db, count)
            log(f"{backend}: issuing {count} credentials…")
            tokens = []
            with Stopwatch() as issue:
                for cid in cert_ids:
                    with db.transaction() as s:
                        tokens.append(service.issue_for_certificate(s, system, cid))
            for i, cred in enumerate(tokens[: count // 5]):
                with db.transaction() as s:
                    service.change_status(s, system, cred.id, "revoked" if i % 2 else "suspended", "bench")
            jwts = [c.jwt for c in tokens]
            checks = count * rounds
            log(f"{backend}: {checks} checks…")
            statuses: dict[str, int] = {}
            with db.sessions() as s, Stopwatch() as warm:
                for i in range(checks):
                    result = service.verify(s, jwts[i % count])
                    key = result.status.value if result.status else "untrusted"
                    statuses[key] = statuses.get(key, 0) + 1
            cold_n = max(1, checks // 10)
            with db.sessions() as s, Stopwatch() as cold:
                for i in range(cold_n):
                    statuslist._signed.clear()
                    vc._decoded.clear()
                    service.verify(s, jwts[i % count])
            with db.sessions() as s:
                jwks = keys.jwks(s)
        finally:
            db.dispose()
    # baselines over the same tokens
    public = {k["kid"]: k for k in jwks["keys"]}
    parsed = [keys.parse_compact(t) for t in jwts]
    raw_keys = {kid: Ed25519PublicKey.from_public_bytes(keys.b64url_decode(k["x"])) for kid, k in public.items()}
    with Stopwatch() as bare:
        for i in range(checks):
            p = parsed[i % count]
            raw_keys[p.header["kid"]].verify(p.signature, p.signing_input)
    py_keys = {kid: pyjwt.PyJWK(k) for kid, k in public.items()}
    kid = next(iter(public))
    with Stopwatch() as lib:
        for i in range(checks):
            pyjwt.decode(jwts[i % count], key=py_keys[kid], algorithms=["EdDSA"])
    figures = {
        "credentials": count,
        "checks": checks,
        "statuses": statuses,
        "jwt_bytes_mean": round(sum(len(t) for t in jwts) / count),
        "issue_per_s": rate(count, issue.seconds),
        "verify_per_s": rate(checks, warm.seconds),
        "verify_status_cold_per_s": rate(cold_n, cold.seconds),
    }
    baseline = {"ed25519_verify_per_s": rate(checks, bare.seconds), "pyjwt_decode_per_s": rate(checks, lib.seconds)}
    return figures, baseline


def main() -> None:
    p = parser(__doc__ or NAME)
    p.add_argument("--backends", type=csv_choice(("sqlite", "postgresql")), default=["sqlite", "postgresql"])
    p.add_argument("--credentials", type=int, default=500)
    p.add_argument("--rounds", type=int, default=10, help="checks per credential")
    args = p.parse_args()
    if args.quick:
        args.credentials, args.rounds = 20, 3
    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    for backend in args.backends:
        f, b = run_backend(backend, args.credentials, args.rounds)
        figures[backend], baseline[backend] = f, b
        ratios[backend] = {
            "verify_vs_ed25519": ratio(f["verify_per_s"], b["ed25519_verify_per_s"]),
            "verify_vs_pyjwt": ratio(f["verify_per_s"], b["pyjwt_decode_per_s"]),
        }
        log(
            f"{backend}: verify {f['verify_per_s']}/s, bare Ed25519 {b['ed25519_verify_per_s']}/s, "
            f"PyJWT {b['pyjwt_decode_per_s']}/s, issue {f['issue_per_s']}/s"
        )
    emit(
        NAME,
        {
            "credentials": args.credentials,
            "rounds": args.rounds,
            "backends": args.backends,
            "run": str(uuid.uuid4())[:8],
        },
        figures,
        baseline,
        ratios,
    )


if __name__ == "__main__":
    main()
