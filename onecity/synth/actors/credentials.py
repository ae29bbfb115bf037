"""People checking the e-certificates they are shown, and inspectors revoking some, in simulated time.

A shop checks a business licence, an employer a qualification, a landlord a residence permit:
each check runs the real public check (:func:`onecity.credentials.service.verify`) on the
credential the holder presents. Rates (scaled with ``--scale``; assumptions marked):

* **checks** — one million a day city-wide (assumption: Shanghai's e-certificate library
  reports calls in the hundreds of millions a year), spread over the day like office hours;
* **forgeries** — 1 % of the credentials presented have been altered (assumption): a byte
  changed anywhere; every one must be refused (``forged_accepted`` stays 0);
* **revocations** — 1 % of live credentials a day have their certificate revoked in the
  registry by a market-regulation inspector (assumption, high on purpose so a day's run sees
  some); the registry's event reaches the credentials consumer, and later checks must say
  ``revoked`` (``revoked_seen`` counts them).

The report's ``credentials`` section: ``issued``, ``checks``, ``valid``, ``revoked_seen``,
``suspended_seen``, ``forged_presented``, ``forged_refused``, ``forged_accepted``,
``registry_revocations``, ``status_mismatches`` (a check whose status disagrees with the
credential's row: must stay 0).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select

from onecity.core.db import Database
from onecity.core.errors import DomainError
from onecity.core.identity.principal import system_principal
from onecity.credentials import service
from onecity.credentials.models import Credential, CredentialStatus
from onecity.hub.registries import service as registry

CHECKS_PER_DAY_AT_SCALE_1 = 1_000_000
FORGED_SHARE = 0.01
REVOKED_PER_LIVE_DAY = 0.01
INSPECTOR = system_principal("sim:inspection")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#: Share of a day's checks in each hour (people check what they are shown in waking hours).
HOURS = np.array(
    [
        0.2,
        0.1,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        1.0,
        1.6,
        2.0,
        2.0,
        1.8,
        1.3,
        1.6,
        2.0,
        2.0,
        1.8,
        1.4,
        1.1,
        1.0,
        0.9,
        0.6,
        0.4,
        0.3,
    ]
)
HOURS = HOURS / HOURS.sum()


def tamper(token: str, rng: np.random.Generator) -> str:
    """The credential with one character replaced by another, anywhere in it."""
    i = int(rng.integers(len(token)))
    choices = [c for c in ALPHABET if c != token[i]]
    return token[:i] + choices[int(rng.integers(len(choices)))] + token[i + 1 :]


@dataclass
class Verifiers:
    scale: float
    name: str = "credentials"
    #: Share of live credentials whose certificate an inspector revokes per day.
    revoke_per_live_day: float = REVOKED_PER_LIVE_DAY
    counts: Counter[str] = field(default_factory=Counter)
    issued: int = 0

    def step(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        from onecity.core import clock

        hours = (end - start).total_seconds() / 3600
        with db.sessions() as s:
            rows = list(
                s.execute(
                    select(Credential.id, Credential.status, Credential.certificate_id).order_by(
                        Credential.issued_at, Credential.id
                    )
                )
            )
        self.issued = len(rows)
        if not rows:
            return
        self._revoke(db, rows, hours, rng)
        share = float(HOURS[clock.local(start).hour]) * hours
        n = int(rng.poisson(CHECKS_PER_DAY_AT_SCALE_1 * self.scale * share))
        if n == 0:
            return
        picks = rng.integers(len(rows), size=n)
        with db.sessions() as s:
            tokens = dict(
                s.execute(
                    select(Credential.id, Credential.jwt).where(Credential.id.in_({rows[int(i)][0] for i in picks}))
                ).all()
            )
            status = dict(s.execute(select(Credential.id, Credential.status).where(Credential.id.in_(tokens))).all())
            for i in picks:
                cid = rows[int(i)][0]
                forged = rng.random() < FORGED_SHARE
                token = tamper(tokens[cid], rng) if forged else tokens[cid]
                result = service.verify(s, token)
                self.counts["checks"] += 1
                if forged:
                    self.counts["forged_presented"] += 1
                    self.counts["forged_accepted" if result.valid else "forged_refused"] += 1
                    continue
                if result.valid:
                    self.counts["valid"] += 1
                if result.status is CredentialStatus.REVOKED:
                    self.counts["revoked_seen"] += 1
                elif result.status is CredentialStatus.SUSPENDED:
                    self.counts["suspended_seen"] += 1
                if result.status is None or result.status.value != str(status[cid]):
                    self.counts["status_mismatches"] += 1

    def _revoke(self, db: Database, rows: list[Any], hours: float, rng: np.random.Generator) -> None:
        live = [r for r in rows if r[1] != CredentialStatus.REVOKED]
        n = min(len(live), int(rng.poisson(len(live) * self.revoke_per_live_day * hours / 24)))
        for i in rng.choice(len(live), size=n, replace=False) if n else []:
            try:
                with db.transaction() as s:
                    registry.revoke_certificate(s, INSPECTOR, live[int(i)][2], "inspection found the premises closed")
                self.counts["registry_revocations"] += 1
            except DomainError:  # revoked meanwhile through another path: nothing to do
                continue

    def report(self) -> dict[str, Any]:
        return {
            "issued": self.issued,
            "checks": self.counts["checks"],
            "valid": self.counts["valid"],
            "revoked_seen": self.counts["revoked_seen"],
            "suspended_seen": self.counts["suspended_seen"],
            "forged_presented": self.counts["forged_presented"],
            "forged_refused": self.counts["forged_refused"],
            "forged_accepted": self.counts["forged_accepted"],
            "registry_revocations": self.counts["registry_revocations"],
            "status_mismatches": self.counts["status_mismatches"],
        }


def actors(scale: float) -> list[Any]:
    return [Verifiers(scale)]
