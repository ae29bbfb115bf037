"""Password hashing with Argon2id (RFC 9106), the memory-hard KDF that won the PHC."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from onecity.core.errors import InvalidInput, Words

_hasher = PasswordHasher()  # argon2-cffi's defaults follow RFC 9106's second recommendation

#: A valid hash of a random password: verifying against it costs the same time as a real
#: verification, so "no such user" and "wrong password" cannot be told apart by timing.
_DUMMY_HASH = _hasher.hash("onecity-timing-equaliser")

MIN_LENGTH = 10


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"the password must be at least {MIN_LENGTH} characters long",
            words=Words("password.too_short", {"n": str(MIN_LENGTH)}),
        )
    if password.isdigit() or password.isalpha():
        raise InvalidInput("the password must mix letters with digits or symbols", words=Words("password.mixed"))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class HashedPassword:
    """A password already checked for strength and hashed, made by :func:`prehash` only.

    Argon2id takes half a second of a core by design; whoever creates many accounts (the
    simulated city's residents) hashes before opening the transaction, not inside it, so
    SQLite's one writer is never held for the hashing.
    """

    value: str


def prehash(password: str) -> HashedPassword:
    check_strength(password)
    return HashedPassword(hash_password(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
