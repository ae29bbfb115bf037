"""Signed checkpoints of the audit chain: what a person with write access to the database cannot redo.

The hash chain (:mod:`onecity.core.audit`) catches an edit, a deletion or a reordering, but not
a *rewrite*: someone who can write to the database may drop the append-only triggers, edit an
entry and recompute every hash after it and the head, and the chain verifies again. So, like a
Certificate Transparency log's signed tree heads and X-Road's signed message-log batches, the
platform periodically signs (sequence number, head hash, time) with an Ed25519 key that the
database does not hold: a key file on the server (``ONECITY_AUDIT_KEY_FILE``, by default
``var/audit-checkpoint.key``, created on first use with mode 0600). The checkpoints are stored
in ``audit_checkpoints`` and published (``GET /api/v1/audit/checkpoints``,
``onecity audit checkpoints --export FILE``); a copy kept elsewhere (another machine, the
auditor's office, a notary) is what a rewrite cannot reach: ``onecity audit verify
--checkpoints FILE`` fails when the chain disagrees with any checkpoint in it.

The signed message is a short text (in the manner of C2SP signed notes)::

    onecity audit checkpoint v1
    seq 1234
    head 9f86d0…
    at 2026-12-04T20:15:00.000000+00:00

A checkpoint names its key by the key's RFC 7638 thumbprint (``kid``); the export carries the
public keys, so it verifies on its own. Signing a checkpoint writes no audit entry (that would
move the head it signs).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from sqlalchemy import BigInteger, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from onecity.core import audit, clock
from onecity.core.audit import AuditEntry, AuditHead
from onecity.core.config import Settings
from onecity.core.db import Base, Database
from onecity.core.errors import InvalidInput, Unavailable

if TYPE_CHECKING:
    from onecity.core.tasks import TaskContext

log = logging.getLogger(__name__)

FORMAT = "onecity-audit-checkpoints/v1"
MESSAGE_HEADER = "onecity audit checkpoint v1"


class AuditCheckpoint(Base):
    """One signed (seq, head, time). The signature is over :func:`message`; the key is not here."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    head: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column()
    kid: Mapped[str] = mapped_column(String(64))
    #: The signing key's raw public bytes, base64url (so the API can publish the key it names).
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)


# -- base64url and keys ----------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Unpadded base64url, refusing any other spelling of the same bytes (as the credentials do)."""
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("not base64url") from err
    if _b64url(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def public_jwk(x: str) -> dict[str, str]:
    """The JWK of a raw Ed25519 public key, named by its RFC 7638 thumbprint."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = _b64url(hashlib.sha256(canonical.encode("ascii")).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}


def key_file(settings: Settings) -> Path:
    return Path(settings.audit_key_file) if settings.audit_key_file else settings.var_dir / "audit-checkpoint.key"


@dataclass(frozen=True)
class CheckpointKey:
    private: Ed25519PrivateKey
    x: str
    kid: str


def load_or_create_key(path: Path) -> CheckpointKey:
    """The signing key in ``path`` (PEM, PKCS#8), created with mode 0600 if there is none yet.

    Creation writes a temporary file and links it into place, so two processes starting at
    once end up with the same key (the second's link fails and it reads the first's).
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pem)
            os.fsync(fd)
            os.close(fd)
            try:
                os.link(tmp, path)
                log.warning("created the audit checkpoint key %s; back it up and keep it out of the database", path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("the audit checkpoint key %s is readable by others (mode %o); chmod 600 it", path, mode)
    try:
        private = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as err:
        raise Unavailable(f"the audit checkpoint key {path} is not a PEM Ed25519 private key: {err}") from err
    if not isinstance(private, Ed25519PrivateKey):
        raise Unavailable(f"the audit checkpoint key {path} is not an Ed25519 key")
    x = _b64url(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    return CheckpointKey(private, x, public_jwk(x)["kid"])


# -- signing ------------------------------------------------------------------------------------------


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def message(seq: int, head: str, at: datetime | str) -> bytes:
    """The bytes a checkpoint's signature covers."""
    at_text = at if isinstance(at, str) else _at_text(at)
    return f"{MESSAGE_HEADER}\nseq {seq}\nhead {head}\nat {at_text}\n".encode("ascii")


def sign(session: Session, key: CheckpointKey) -> AuditCheckpoint | None:
    """Sign the current head, if it moved since the last checkpoint; None if there is nothing new."""
    head = session.get(AuditHead, 1)
    if head is None or head.seq == 0:
        return None
    last = session.scalar(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq.desc()).limit(1))
    if last is not None and last >= head.seq:
        return None
    at = clock.now()
    row = AuditCheckpoint(
        seq=head.seq,
        head=head.hash,
        at=at,
        kid=key.kid,
        public_key=key.x,
        signature=_b64url(key.private.sign(message(head.seq, head.hash, at))),
    )
    session.add(row)
    session.flush()
    return row


def checkpoint(db: Database, settings: Settings) -> AuditCheckpoint | None:
    """Seal the committed entries, then sign the head (the periodic task and ``onecity audit checkpoint``)."""
    key = load_or_create_key(key_file(settings))
    audit.seal(db)
    try:
        with db.transaction() as session:
            return sign(session, key)
    except IntegrityError:  # another worker signed the same head a moment ago
        return None


#: When each server process's task first ran (by task context): no checkpoint in the first minute,
#: so a process that lives seconds (a test's app, a one-off command) signs nothing.
_first_round: dict[int, float] = {}


def due(session: Session, every_seconds: float) -> bool:
    """Whether the last checkpoint is older than ``every_seconds`` (or there is none)."""
    last = session.scalar(select(AuditCheckpoint.at).order_by(AuditCheckpoint.seq.desc()).limit(1))
    return last is None or (clock.now() - last).total_seconds() >= every_seconds


def run(ctx: TaskContext, *, first_delay: float = 60.0) -> AuditCheckpoint | None:
    """One round of the server's checkpoint task (the platform's manifest runs it every minute):
    sign when ``ONECITY_AUDIT_CHECKPOINT_SECONDS`` have passed since the last checkpoint and the
    head moved. Several workers may all try; the checkpoint's primary key lets one win."""
    every = ctx.settings.audit_checkpoint_seconds
    if every <= 0:
        return None
    started = _first_round.setdefault(id(ctx), time.monotonic())
    if time.monotonic() - started < min(first_delay, every):
        return None
    with ctx.db.sessions() as session:
        if not due(session, every):
            return None
    signed = checkpoint(ctx.db, ctx.settings)
    if signed is not None:
        log.info("audit checkpoint signed at entry %s", signed.seq)
    return signed


# -- publishing and reading back ---------------------------------------------------------------------


def _as_dict(c: AuditCheckpoint) -> dict[str, Any]:
    return {"seq": c.seq, "head": c.head, "at": _at_text(c.at), "kid": c.kid, "signature": c.signature}


def document(checkpoints: Iterable[AuditCheckpoint]) -> dict[str, Any]:
    """The published form: the public keys (a JWKS) and the checkpoints, oldest first."""
    rows = sorted(checkpoints, key=lambda c: c.seq)
    keys: dict[str, dict[str, str]] = {}
    for c in rows:
        keys.setdefault(c.kid, public_jwk(c.public_key))
    return {"format": FORMAT, "keys": list(keys.values()), "checkpoints": [_as_dict(c) for c in rows]}


def published(session: Session, *, since_seq: int = 0, limit: int | None = None) -> dict[str, Any]:
    stmt = select(AuditCheckpoint).where(AuditCheckpoint.seq > since_seq).order_by(AuditCheckpoint.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    return document(session.scalars(stmt))


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read back from a published document, its signature already checked."""

    seq: int
    head: str
    at: str
    kid: str
    signature: str

    def name(self) -> str:
        return f"the checkpoint at entry {self.seq} (signed {self.at}, key {self.kid[:12]}…)"


class CheckpointError(InvalidInput):
    """A checkpoints document is malformed, or a signature in it does not hold."""


def read_document(doc: Any) -> list[Checkpoint]:
    """Every checkpoint of a published document, oldest first, each signature verified."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"not an audit checkpoints document (expected format {FORMAT!r})")
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in doc.get("keys") or []:
        try:
            expected = public_jwk(str(jwk["x"]))
            if jwk.get("kid") != expected["kid"]:
                raise CheckpointError(f"key {jwk.get('kid')!r} is not named by its thumbprint ({expected['kid']})")
            keys[expected["kid"]] = Ed25519PublicKey.from_public_bytes(_b64url_decode(str(jwk["x"])))
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"a key in the document is not an Ed25519 JWK: {err}") from err
    out: list[Checkpoint] = []
    for raw in doc.get("checkpoints") or []:
        try:
            cp = Checkpoint(
                seq=int(raw["seq"]),
                head=str(raw["head"]),
                at=str(raw["at"]),
                kid=str(raw["kid"]),
                signature=str(raw["signature"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"a checkpoint in the document is incomplete: {err}") from err
        key = keys.get(cp.kid)
        if key is None:
            raise CheckpointError(f"{cp.name()} names a key the document does not carry")
        try:
            key.verify(_b64url_decode(cp.signature), message(cp.seq, cp.head, cp.at))
        except (InvalidSignature, ValueError) as err:
            raise CheckpointError(
                f"{cp.name()} has a bad signature: the file was altered, or signed by another key"
            ) from err
        out.append(cp)
    return sorted(out, key=lambda c: c.seq)


def read_file(path: Path) -> list[Checkpoint]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise CheckpointError(f"no checkpoints file {path}") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not a JSON checkpoints document: {err}") from err
    return read_document(doc)


def _entry_hashes(session: Session, seqs: list[int]) -> dict[int, str]:
    """The hash of the entry at each named chain position as the database holds it now."""
    out: dict[int, str] = {}
    for i in range(0, len(seqs), 500):
        rows = session.execute(select(AuditEntry.pos, AuditEntry.hash).where(AuditEntry.pos.in_(seqs[i : i + 500])))
        out.update({seq: h for seq, h in rows if seq is not None and h is not None})
    return out


def export(session: Session, path: Path) -> tuple[int, int]:
    """Write the database's checkpoints to ``path``, keeping every checkpoint already in it.

    An export never forgets: if ``path`` holds checkpoints (an earlier export), they stay, and a
    checkpoint of the database that disagrees with one in the file is refused, so re-exporting
    after a rewrite cannot overwrite the evidence. Returns (checkpoints written, new ones).
    """
    doc = published(session)
    if path.exists():
        old_doc = json.loads(path.read_text(encoding="utf-8"))
        kept = {c.seq: c for c in read_document(old_doc)}
        now_held = _entry_hashes(session, list(kept))
        for c in doc["checkpoints"]:
            if (had := kept.get(c["seq"])) is not None and had.head != c["head"]:
                now_held[had.seq] = c["head"]  # the database's own checkpoint was replaced: refuse below
        for seq, had in sorted(kept.items()):
            if now_held.get(seq) != had.head:
                raise CheckpointError(
                    f"the database disagrees with {had.name()} in {path}: the audit log was rewritten or cut; "
                    "nothing was written. Run `onecity audit verify --checkpoints` with that file"
                )
        known = {c["seq"] for c in doc["checkpoints"]}
        doc["checkpoints"] = sorted(
            doc["checkpoints"] + [c for c in old_doc["checkpoints"] if int(c["seq"]) not in known],
            key=lambda c: int(c["seq"]),
        )
        kids = {k["kid"] for k in doc["keys"]}
        doc["keys"] += [k for k in old_doc["keys"] if k["kid"] not in kids]
        new = len(known - set(kept))
    else:
        new = len(doc["checkpoints"])
    doc["exported_at"] = _at_text(clock.now())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return len(doc["checkpoints"]), new
