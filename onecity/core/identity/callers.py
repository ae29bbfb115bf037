"""Who a bearer credential stands for, remembered for a few seconds in each server process.

Resolving a caller used to cost more than most routes' own work: an HS256 check through
joserfc (about half a millisecond), then the user row with its agency and roles (two queries
and object construction through the ORM) or the API key's row, in FastAPI's thread pool. A
client sends the same credential many times a second, so each process remembers, for at most
``ttl`` seconds (``ONECITY_CALLER_CACHE_SECONDS``, default 5; 0 turns the cache off):

* an access token it verified → the user id and the token's expiry;
* a user id → the principal and the few fields ``/auth/me`` shows;
* the SHA-256 of an API key's secret → the key's principal and expiry.

What keeps this safe:

* an answer is found only by the whole credential (the token itself, the hash of the whole
  secret), so a hit means these exact bytes were verified before; a token's and a key's own
  expiry is checked again on every hit, against :func:`onecity.core.clock.now`;
* a change to users, their roles, agencies or API keys committed in this process (revoking a
  key, disabling a user, removing a role) empties every cache of the process at commit
  (:func:`_watch`), so the worker that made the change refuses the credential at once;
* another worker process refuses it at most ``ttl`` seconds later, when its entry expires.
  That bound is the price of not reading the database on every request, and it is why the
  default is seconds, not minutes.

Browser sessions are not cached here: their pages use the session row (its CSRF token) and
the user row themselves, so the cookie path reads both from the database as before.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from onecity.core import clock
from onecity.core.identity.models import ApiKey, User, UserRole
from onecity.core.identity.principal import Principal

#: The most entries one cache keeps of each kind; past it the oldest are dropped (a flood of
#: distinct valid tokens cannot grow a worker's memory without bound).
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Profile:
    """What ``/auth/me`` shows of the caller beyond the principal, read with it."""

    username: str
    display_name: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Caller:
    principal: Principal
    #: The credential's own end (an API key's ``expires_at``); None: no end of its own.
    expires_at: datetime | None = None
    #: For people: the fields of their record ``/auth/me`` shows.
    profile: Profile | None = None


class CallerCache:
    """One process's memory of resolved bearer credentials; see the module's docstring."""

    def __init__(self, ttl: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self._monotonic = ttl, monotonic
        self._lock = threading.Lock()
        self._generation = 0
        self._tokens: dict[str, tuple[float, str, int]] = {}
        self._users: dict[str, tuple[float, Caller]] = {}
        self._keys: dict[str, tuple[float, Caller]] = {}
        _CACHES.add(self)

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    @property
    def generation(self) -> int:
        """Bumped by every :meth:`forget_all`: an answer looked up before it is not stored after it."""
        return self._generation

    def forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._tokens.clear()
            self._users.clear()
            self._keys.clear()

    def _fresh(self, stored_at: float) -> bool:
        return self._monotonic() - stored_at < self.ttl

    # -- access tokens ------------------------------------------------------------------------

    def token_subject(self, token: str) -> str | None:
        """The user id of a token verified here within ``ttl``, while the token itself is unexpired."""
        found = self._tokens.get(token)
        if found is None or not self._fresh(found[0]) or found[2] <= clock.now().timestamp():
            return None
        return found[1]

    def remember_token(self, token: str, subject: str, expires: int, generation: int) -> None:
        if self.enabled:
            self._put(self._tokens, token, (self._monotonic(), subject, expires), generation)

    # -- users and API keys -------------------------------------------------------------------

    def user(self, user_id: str) -> Caller | None:
        return self._get(self._users, user_id)

    def remember_user(self, user_id: str, caller: Caller, generation: int) -> None:
        if self.enabled:
            self._put(self._users, user_id, (self._monotonic(), caller), generation)

    def api_key(self, secret_hash: str) -> Caller | None:
        return self._get(self._keys, secret_hash)

    def remember_api_key(self, secret_hash: str, caller: Caller, generation: int) -> None:
        if self.enabled:
            self._put(self._keys, secret_hash, (self._monotonic(), caller), generation)

    def _get(self, table: dict[str, tuple[float, Caller]], key: str) -> Caller | None:
        found = table.get(key)
        if found is None or not self._fresh(found[0]):
            return None
        caller = found[1]
        if caller.expires_at is not None and caller.expires_at <= clock.now():
            return None
        return caller

    def _put(self, table: dict[str, Any], key: str, value: Any, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # something changed while this answer was being read: it may be stale
            if len(table) >= MAX_ENTRIES:
                for old in list(table)[: MAX_ENTRIES // 10]:  # dicts keep insertion order: oldest first
                    del table[old]
            table[key] = value


_CACHES: weakref.WeakSet[CallerCache] = weakref.WeakSet()

#: Rows whose change may change what a credential stands for. Agencies are included: a
#: principal carries its agency's code.
_IDENTITY_TABLES = frozenset({User.__tablename__, UserRole.__tablename__, ApiKey.__tablename__, "agencies"})
_CHANGED = "onecity.identity_changed"


def forget_everywhere() -> None:
    """Empty every caller cache of this process (after a change to identities)."""
    for cache in list(_CACHES):
        cache.forget_all()


def _touches_identity(objects: Any) -> bool:
    return any(getattr(obj, "__tablename__", None) in _IDENTITY_TABLES for obj in objects)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    # a new user, key or agency changes no answer already given; a new role does
    added_role = any(isinstance(obj, UserRole) for obj in session.new)
    if added_role or _touches_identity(session.dirty) or _touches_identity(session.deleted):
        session.info[_CHANGED] = True


def _on_execute(state: ORMExecuteState) -> None:
    """Bulk ``update(User)`` / ``delete(ApiKey)`` statements bypass the flush: watch them too."""
    mapper = state.bind_mapper
    bulk = state.is_update or state.is_delete
    if bulk and mapper is not None and getattr(mapper.local_table, "name", None) in _IDENTITY_TABLES:
        state.session.info[_CHANGED] = True


def _after_commit(session: Session) -> None:
    # a flag left by a rolled-back change only costs one needless emptying at the next commit
    if session.info.pop(_CHANGED, False):
        forget_everywhere()


def _watch() -> None:
    """Listen on every ORM session of the process, once (this module is imported once)."""
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "after_commit", _after_commit)


_watch()
