"""W3C Bitstring Status List v1.0: entries, lists, and the signed status list credentials.

A credential carries two ``BitstringStatusListEntry`` objects, one in a revocation list and
one in a suspension list. Bit ``i`` of a list is the ``i``-th bit from the left of the
bitstring (the most significant bit of byte ``i // 8`` first); 1 means revoked (or
suspended). Lists are published GZIP-compressed, base64url-encoded without padding, with
the multibase prefix ``u``, inside a status list credential that is itself a signed
``vc+jwt``.

Privacy, as the specification advises: every list has 131,072 entries (16 KiB, its
minimum) so that one fetch tells nothing about which credential is checked, and indices are
drawn at random (:func:`secrets.randbelow`), so neither the order of issue nor the number
issued can be read from an index. A list takes new entries until ``capacity`` (¾ of its
size) is reached, which keeps a random draw finding a free slot in a few tries.
"""

from __future__ import annotations

import gzip
import io
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.credentials import keys
from onecity.credentials.models import Credential, StatusList, StatusPurpose

V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
LIST_SIZE = 131_072  # bits: the specification's minimum, 16 KiB
CAPACITY = LIST_SIZE * 3 // 4
#: A hint to verifiers (milliseconds) of how long a fetched list may be cached.
TTL_MS = 300_000
STATUS_PATH = "/api/v1/credentials/status/"


def encode_list(bits: bytes) -> str:
    """``encodedList``: multibase ``u`` + base64url (no padding) of the GZIP-compressed bitstring."""
    return "u" + keys.b64url(gzip.compress(bits, compresslevel=9, mtime=0))


def decode_list(encoded: str, *, max_bytes: int = 16 * 1024 * 1024) -> bytes:
    """The bitstring of an ``encodedList``; refuses a missing prefix and oversized expansions."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url (start with 'u')")
    raw = keys.b64url_decode(encoded[1:])
    with gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb") as fh:
        bits = fh.read(max_bytes + 1)
    if len(bits) > max_bytes:
        raise ValueError("the status list expands beyond the size this verifier accepts")
    return bits


def bit(bits: bytes, index: int) -> bool:
    """Bit ``index`` from the left (index 0 is the most significant bit of the first byte)."""
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def with_bit(bits: bytes, index: int, value: bool) -> bytes:
    buf = bytearray(bits)
    mask = 0x80 >> (index % 8)
    buf[index // 8] = (buf[index // 8] | mask) if value else (buf[index // 8] & ~mask)
    return bytes(buf)


def list_url(issuer: str, list_id: int) -> str:
    return f"{issuer}{STATUS_PATH}{list_id}"


def list_id_of(url: str) -> int | None:
    """The list id in a ``statusListCredential`` URL this issuer publishes, or None."""
    head, sep, tail = url.rpartition(STATUS_PATH)
    if not sep or not tail.isdigit() or len(tail) > 12:
        return None
    return int(tail)


# -- allocation -------------------------------------------------------------------------------------


def _open_list(session: Session, purpose: StatusPurpose) -> StatusList:
    stmt = (
        select(StatusList)
        .where(StatusList.purpose == purpose, StatusList.full.is_(False))
        .order_by(StatusList.id)
        .limit(1)
        .with_for_update()
    )
    lst = session.scalar(stmt)
    if lst is None:
        now = clock.now()
        lst = StatusList(
            purpose=purpose,
            size=LIST_SIZE,
            bits=bytes(LIST_SIZE // 8),
            allocated=0,
            capacity=CAPACITY,
            full=False,
            version=0,
            created_at=now,
            updated_at=now,
        )
        session.add(lst)
        session.flush()
    return lst


def allocate(session: Session, purpose: StatusPurpose) -> tuple[StatusList, int]:
    """A free random index in an open list of ``purpose`` (the list row is locked until commit)."""
    lst = _open_list(session, purpose)
    list_col, index_col = (
        (Credential.revocation_list_id, Credential.revocation_index)
        if purpose is StatusPurpose.REVOCATION
        else (Credential.suspension_list_id, Credential.suspension_index)
    )
    while True:
        index = secrets.randbelow(lst.size)
        taken = session.scalar(select(Credential.id).where(list_col == lst.id, index_col == index))
        if taken is None:
            break
    lst.allocated += 1
    if lst.allocated >= lst.capacity:
        lst.full = True
    return lst, index


def set_bit(session: Session, list_id: int, index: int, value: bool) -> None:
    lst = session.scalar(select(StatusList).where(StatusList.id == list_id).with_for_update())
    if lst is None:
        raise LookupError(f"status list {list_id} is missing")
    if bit(lst.bits, index) == value:
        return
    lst.bits = with_bit(lst.bits, index, value)
    lst.version += 1
    lst.updated_at = clock.now()


# -- the status list credential ----------------------------------------------------------------------


def status_list_credential(issuer: str, lst: StatusList) -> dict[str, Any]:
    url = list_url(issuer, lst.id)
    return {
        "@context": [V2_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": iso(lst.updated_at),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": str(lst.purpose),
            "encodedList": encode_list(lst.bits),
            "ttl": TTL_MS,
        },
    }


_signed: dict[tuple[str, int, int, str], str] = {}
_signed_lock = threading.Lock()


def signed_status_list(session: Session, issuer: str, lst: StatusList, signer_name: str) -> str:
    """The list as a ``vc+jwt``, signed by the current key; cached until the list or the key changes."""
    signer = keys.current_signer(session, signer_name)
    cache_key = (issuer, lst.id, lst.version, signer.kid)
    token = _signed.get(cache_key)
    if token is None:
        claims = status_list_credential(issuer, lst)
        payload = {**claims, "iss": issuer, "jti": claims["id"], "iat": int(lst.updated_at.timestamp())}
        token = keys.sign_compact(signer, {"typ": "vc+jwt", "cty": "vc"}, payload)
        with _signed_lock:
            if len(_signed) > 1024:
                _signed.clear()
            _signed[cache_key] = token
    return token


def iso(value: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC, as VC 2.0 dates are written."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
