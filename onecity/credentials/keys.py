"""The issuer's Ed25519 signing keys: sealed in the database, rotated, published as a JWKS.

Why the database and not a file: every API worker signs, and a key on one worker's disk
would not be on the next. Why sealed: a copy of the database alone must not let anyone
issue certificates. The sealing key is HKDF-SHA256 of the platform's ``secret_key`` (which
production refuses to run without), so the database and the secret are needed together.

Which secret: the app binds its settings' secret to its database engine when it starts
(:func:`use_secret`, done by the credentials pages' lifespan); a process that never bound
one (the CLI, the simulation) uses ``ONECITY_SECRET_KEY`` from the environment.

JWS compact serialisation is done here with ``cryptography``'s Ed25519 directly: it is a
few lines, lets verification refuse non-canonical base64url (a changed last character that
decodes to the same bytes), and keeps ``alg: EdDSA`` (RFC 8037), which every JOSE library
reads, without the deprecation warnings some raise for it since RFC 9864.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.core.config import ConfigurationError, get_settings
from onecity.core.db import Database
from onecity.core.errors import Conflict, NotFound, Unavailable
from onecity.credentials.models import SigningKey

ALG = "EdDSA"
SEAL_INFO = b"onecity/credentials/signing-key-seal/v1"

_secrets: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()
_private_cache: dict[tuple[str, bytes], Ed25519PrivateKey] = {}
#: Public keys by (database, kid), with when they were read: a key withdrawn by another process
#: stops verifying here within PUBLIC_KEY_TTL seconds (at once in the withdrawing process).
_public_cache: dict[tuple[str, str], tuple[Ed25519PublicKey, float]] = {}
PUBLIC_KEY_TTL = 60.0
_lock = threading.Lock()


# -- base64url, strictly -------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, refusing any other spelling of the same bytes.

    Lenient decoders ignore the unused low bits of the last character, so two different
    strings decode alike; a verifier that accepted both would accept a changed byte.
    """
    if not text or "=" in text or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("not base64url") from err
    if b64url(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- sealing ---------------------------------------------------------------------------------------


def use_secret(target: Database | Engine, secret_key: str) -> None:
    """Bind the platform secret whose derived key seals this database's signing keys."""
    engine = target.engine if isinstance(target, Database) else target
    _secrets[engine] = _derive(secret_key)


def _derive(secret_key: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=SEAL_INFO).derive(secret_key.encode("utf-8"))


def _seal_key(session: Session) -> bytes:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    key = _secrets.get(engine)
    if key is not None:
        return key
    try:
        return _derive(get_settings().secret_key)
    except ConfigurationError as err:
        raise Unavailable(
            "credential signing is unavailable: the platform secret is not configured "
            f"({err}); set ONECITY_SECRET_KEY or bind one with keys.use_secret()"
        ) from err


def _seal(kek: bytes, kid: str, raw: bytes) -> str:
    nonce = os.urandom(12)
    return b64url(nonce + AESGCM(kek).encrypt(nonce, raw, kid.encode("ascii")))


def _unseal(kek: bytes, kid: str, sealed: str) -> bytes:
    blob = b64url_decode(sealed)
    try:
        return AESGCM(kek).decrypt(blob[:12], blob[12:], kid.encode("ascii"))
    except InvalidTag as err:
        raise Unavailable(
            f"signing key {kid} cannot be unsealed: the platform secret (ONECITY_SECRET_KEY) is not "
            "the one it was sealed with; restore that secret, or rotate the key "
            "(`onecity credentials rotate-key`) to sign new credentials"
        ) from err


# -- keys ------------------------------------------------------------------------------------------


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    x = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(x)}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an OKP key: the required members in lexicographic order."""
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True)
class Signer:
    kid: str
    private: Ed25519PrivateKey


def _new_key(session: Session, created_by: str) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    jwk = public_jwk(private.public_key())
    kid = thumbprint(jwk)
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    row = SigningKey(
        kid=kid,
        public_jwk={**jwk, "kid": kid, "alg": ALG, "use": "sig"},
        sealed_private_key=_seal(_seal_key(session), kid, raw),
        created_at=clock.now(),
        created_by=created_by,
        retired_at=None,
        withdrawn_at=None,
        withdrawn_reason=None,
        current=1,
    )
    session.add(row)
    session.flush()
    return row


def current_signer(session: Session, created_by: str) -> Signer:
    """The key that signs now; the first call on a new database makes one."""
    row = session.scalar(select(SigningKey).where(SigningKey.current == 1))
    if row is None:
        try:
            with session.begin_nested():  # two first issuers at once: the unique index lets one win
                row = _new_key(session, created_by)
        except IntegrityError:
            row = session.scalar(select(SigningKey).where(SigningKey.current == 1))
            if row is None:
                raise
    return Signer(row.kid, _private(session, row))


def _private(session: Session, row: SigningKey) -> Ed25519PrivateKey:
    kek = _seal_key(session)
    cached = _private_cache.get((row.kid, kek))
    if cached is not None:
        return cached
    private = Ed25519PrivateKey.from_private_bytes(_unseal(kek, row.kid, row.sealed_private_key))
    with _lock:
        _private_cache[(row.kid, kek)] = private
    return private


def rotate(session: Session, created_by: str) -> tuple[SigningKey, SigningKey | None]:
    """Retire the current key (it stays in the JWKS) and make a new one; returns (new, retired)."""
    old = session.scalar(select(SigningKey).where(SigningKey.current == 1).with_for_update())
    if old is not None:
        session.execute(
            update(SigningKey).where(SigningKey.kid == old.kid).values(current=None, retired_at=clock.now())
        )
        session.flush()
        session.refresh(old)
    try:
        with session.begin_nested():
            new = _new_key(session, created_by)
    except IntegrityError as err:
        raise Conflict(
            "another key rotation finished just now; look at /.well-known/jwks.json before rotating again"
        ) from err
    return new, old


def withdraw(session: Session, kid: str, reason: str, by: str) -> tuple[SigningKey, SigningKey | None]:
    """Take a leaked key out of the JWKS for good; if it was signing, a new key takes over.

    Returns (the withdrawn key, the new current key if one had to be made).
    """
    row = session.scalar(select(SigningKey).where(SigningKey.kid == kid).with_for_update())
    if row is None:
        raise NotFound(f"no signing key {kid}")
    if row.withdrawn_at is not None:
        raise Conflict(f"key {kid} was already withdrawn at {row.withdrawn_at}")
    was_current = row.current == 1
    now = clock.now()
    row.withdrawn_at, row.withdrawn_reason, row.current = now, reason, None
    row.retired_at = row.retired_at or now
    session.flush()
    with _lock:
        for key in [k for k in _public_cache if k[1] == kid]:
            del _public_cache[key]
    return row, _new_key(session, by) if was_current else None


def jwks(session: Session) -> dict[str, Any]:
    """Every key in use or retired, current first: a credential signed before a rotation still verifies.

    Withdrawn keys are left out, so nothing they signed verifies any more.
    """
    rows = session.scalars(
        select(SigningKey)
        .where(SigningKey.withdrawn_at.is_(None))
        .order_by(SigningKey.current.is_(None), SigningKey.created_at.desc())
    )
    return {"keys": [dict(r.public_jwk) for r in rows]}


@dataclass(frozen=True)
class KeyLookup:
    public: Ed25519PublicKey | None
    withdrawn_at: datetime | None = None


def verification_key(session: Session, kid: str) -> KeyLookup:
    """The public key named ``kid`` in this database's JWKS (``public`` None if unknown or withdrawn)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    cache_key = (str(engine.url), kid)
    cached = _public_cache.get(cache_key)
    if cached is not None and time.monotonic() - cached[1] < PUBLIC_KEY_TTL:
        return KeyLookup(cached[0])
    row = session.get(SigningKey, kid)
    if row is None:
        return KeyLookup(None)  # not cached: the key may be created later
    if row.withdrawn_at is not None:
        return KeyLookup(None, row.withdrawn_at)
    key = Ed25519PublicKey.from_public_bytes(b64url_decode(row.public_jwk["x"]))
    with _lock:
        _public_cache[cache_key] = (key, time.monotonic())
    return KeyLookup(key)


# -- compact JWS -----------------------------------------------------------------------------------


def sign_compact(signer: Signer, header: dict[str, Any], payload: dict[str, Any]) -> str:
    head = {"alg": ALG, **header, "kid": signer.kid}
    signing_input = f"{b64url(json_bytes(head))}.{b64url(json_bytes(payload))}".encode("ascii")
    return signing_input.decode("ascii") + "." + b64url(signer.private.sign(signing_input))


class JwsError(ValueError):
    """Why a compact JWS was refused, in words a verifier can show."""


@dataclass(frozen=True)
class ParsedJws:
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse_compact(token: str) -> ParsedJws:
    """Split and decode a compact JWS without checking the signature yet."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError(f"a JWT has 3 parts separated by '.', this has {len(parts)}")
    try:
        header_bytes, payload_bytes = b64url_decode(parts[0]), b64url_decode(parts[1])
        # an unsecured JWT (alg "none") has an empty signature: read it, so the header check can say why
        signature = b64url_decode(parts[2]) if parts[2] else b""
    except ValueError as err:
        raise JwsError(f"a part is not valid base64url ({err})") from err
    try:
        header, payload = json.loads(header_bytes), json.loads(payload_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise JwsError("the header or payload is not JSON") from err
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JwsError("the header and payload must be JSON objects")
    return ParsedJws(header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def check_signature(public: Ed25519PublicKey, jws: ParsedJws) -> bool:
    try:
        public.verify(jws.signature, jws.signing_input)
    except InvalidSignature:
        return False
    return True
