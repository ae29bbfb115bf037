"""Agencies, users and API keys: the actions administrators take, one function each.

Each function takes the acting principal, checks the policy, writes in the caller's
transaction, appends an audit entry and publishes a domain event after commit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, literal, or_, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events, policy
from onecity.core.divisions import Division, contains, scope_prefix, validate_code
from onecity.core.errors import AuthenticationRequired, Conflict, InvalidInput, NotFound, PermissionDenied, Words
from onecity.core.grants import AccessGrant
from onecity.core.identity.callers import Caller, CallerCache, Profile
from onecity.core.identity.events import (
    AGENCY_CREATED,
    APIKEY_CREATED,
    APIKEY_REVOKED,
    GRANT_CHANGED,
    USER_CREATED,
    USER_UPDATED,
    AgencyCreated,
    ApiKeyCreated,
    ApiKeyRevoked,
    GrantChanged,
    UserCreated,
    UserUpdated,
)
from onecity.core.identity.models import Agency, ApiKey, User, UserRole, WebSession
from onecity.core.identity.passwords import HashedPassword, check_strength, hash_password, verify_password
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role, Scope

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
AGENCY_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$")
API_KEY_PREFIX = "oc_"


def _division(session: Session, code: str) -> Division:
    validate_code(code)
    div = session.get(Division, code)
    if div is None:
        raise InvalidInput(f"division {code} does not exist; list divisions at /api/v1/divisions")
    return div


def _require_covers(principal: Principal, division_code: str, what: str) -> None:
    if principal.division_code is None or not contains(principal.division_code, division_code):
        raise PermissionDenied(
            f"you administer division {principal.division_code}; {what} in {division_code} is outside it"
        )


# -- agencies -------------------------------------------------------------------------------


def create_agency(
    session: Session,
    principal: Principal,
    *,
    code: str,
    name: str,
    name_en: str,
    division_code: str,
    parent_code: str | None = None,
) -> Agency:
    policy.require(principal, "core.agency.create")
    if not AGENCY_CODE_RE.match(code):
        raise InvalidInput("agency code must be 2–40 letters, digits, '.', '_' or '-'")
    if not name.strip() or not name_en.strip():
        raise InvalidInput("an agency needs a Chinese and an English name")
    _division(session, division_code)
    _require_covers(principal, division_code, "creating an agency")
    if session.scalar(select(Agency.id).where(Agency.code == code)):
        raise Conflict(f"agency code {code!r} is already taken")
    parent_id = None
    if parent_code:
        parent = session.scalar(select(Agency).where(Agency.code == parent_code))
        if parent is None:
            raise InvalidInput(f"parent agency {parent_code!r} does not exist")
        parent_id = parent.id
    agency = Agency(
        code=code,
        name=name.strip(),
        name_en=name_en.strip(),
        division_code=division_code,
        parent_id=parent_id,
        active=True,
    )
    session.add(agency)
    session.flush()
    audit.record(
        session,
        principal,
        "core.agency.created",
        object_type="agency",
        object_id=agency.id,
        division_code=division_code,
        detail={"code": code},
    )
    events.publish(
        session,
        AGENCY_CREATED,
        AgencyCreated(agency_id=agency.id, code=code, division_code=division_code),
        principal=principal,
        reason="agency created",
    )
    return agency


def list_agencies(session: Session, principal: Principal) -> list[Agency]:
    policy.require(principal, "core.agency.list")
    return list(session.scalars(select(Agency).order_by(Agency.division_code, Agency.code)))


def agency_by_code(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"no agency with code {code!r}")
    return agency


# -- users ----------------------------------------------------------------------------------


def create_user(
    session: Session,
    principal: Principal,
    *,
    username: str,
    password: str | HashedPassword,
    kind: PrincipalKind,
    roles: list[Role] | None = None,
    agency_code: str | None = None,
    division_code: str | None = None,
    display_name: str = "",
) -> User:
    """Create a person's account. Staff need an agency and a division inside the creator's area.

    ``password`` is the password itself, or a :class:`HashedPassword` made before the transaction.
    """
    policy.require(principal, "core.user.create")
    roles = list(dict.fromkeys(roles or []))
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "username must be 3–64 lowercase letters, digits, '.', '_' or '-'", words=Words("account.username_invalid")
        )
    if not isinstance(password, HashedPassword):
        check_strength(password)
    if kind not in (PrincipalKind.CITIZEN, PrincipalKind.ENTERPRISE, PrincipalKind.STAFF):
        raise InvalidInput("a user is a citizen, an enterprise representative or agency staff")
    agency = None
    if kind is PrincipalKind.STAFF:
        if not roles:
            raise InvalidInput("staff need at least one role, e.g. --role counter_clerk")
        if agency_code is None or division_code is None:
            raise InvalidInput("staff need an agency (--agency CODE) and a division (--division CODE)")
        agency = agency_by_code(session, agency_code)
        if not contains(agency.division_code, division_code) and not contains(division_code, agency.division_code):
            raise InvalidInput(
                f"division {division_code} is not served by agency {agency_code} (which sits in {agency.division_code})"
            )
    elif roles:
        raise InvalidInput("only agency staff hold roles")
    if division_code is not None:
        _division(session, division_code)
        _require_covers(principal, division_code, "creating a user")
    elif principal.kind is not PrincipalKind.SYSTEM and not policy.in_scope(session, principal, "core.user", None):
        raise PermissionDenied("only municipal administrators create users without a division")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"username {username!r} is already taken", words=Words("account.username_taken"))
    user = User(
        username=username,
        display_name=display_name or username,
        kind=kind,
        password_hash=password.value if isinstance(password, HashedPassword) else hash_password(password),
        agency_id=agency.id if agency else None,
        division_code=division_code,
        active=True,
        password_changed_at=clock.now(),
    )
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    audit.record(
        session,
        principal,
        "core.user.created",
        object_type="user",
        object_id=user.id,
        subject=f"user:{user.id}",
        division_code=division_code,
        detail={"username": username, "kind": str(kind), "roles": [str(r) for r in roles]},
    )
    events.publish(
        session,
        USER_CREATED,
        UserCreated(
            user_id=user.id,
            username=username,
            kind=str(kind),
            roles=[str(r) for r in roles],
            division_code=division_code,
        ),
        principal=principal,
        reason="user created",
    )
    return user


#: Usernames of the simulated city's accounts (``onecity.synth``): left out of lists unless asked for.
SIMULATED_PREFIX = "sim-"


def list_users(
    session: Session,
    principal: Principal,
    *,
    division_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
    query: str | None = None,
    simulated: bool = True,
) -> list[User]:
    """Users in the principal's area by username; ``query`` matches part of a username or name,
    ``simulated=False`` leaves out the simulated city's accounts."""
    policy.require(principal, "core.user.list")
    stmt = select(User).where(policy.scope_clause(session, principal, "core.user", User.division_code))
    if division_code:
        stmt = stmt.where(User.division_code.startswith(scope_prefix(validate_code(division_code))))
    if query and query.strip():
        q = query.strip()
        stmt = stmt.where(
            or_(User.username.contains(q.lower(), autoescape=True), User.display_name.contains(q, autoescape=True))
        )
    if not simulated:
        stmt = stmt.where(User.username.not_like(SIMULATED_PREFIX + "%"))
    stmt = stmt.order_by(User.username).limit(min(limit, 500)).offset(offset)
    return list(session.scalars(stmt))


def get_user(session: Session, principal: Principal, user_id: str, *, purpose: str | None) -> User:
    """One user's record. It is personal data: the read is audited with its purpose."""
    user = session.get(User, user_id)
    if user is not None and principal.id == user.id:
        return user
    policy.require(principal, "core.user.read")
    if user is None:
        raise NotFound(f"no user {user_id}")
    policy.require_in_scope(session, principal, "core.user", user.division_code)
    audit.personal_read(
        session,
        principal,
        "core.user.read",
        f"user:{user.id}",
        purpose,
        object_type="user",
        division_code=user.division_code,
    )
    return user


@dataclass(frozen=True)
class UserRecord:
    """A user's record as :func:`read_user` reads it: plain values, what the public view shows."""

    id: str
    username: str
    display_name: str
    kind: str
    roles: list[Role]
    agency_code: str | None
    division_code: str | None
    active: bool
    created_at: datetime


#: The user and their agency's code, one row (the read of :func:`read_user`).
_USER_ROW = (
    select(
        User.id,
        User.username,
        User.display_name,
        User.kind,
        Agency.code.label("agency_code"),
        User.division_code,
        User.active,
        User.created_at,
    )
    .outerjoin(Agency, Agency.id == User.agency_id)
    .where(User.id == bindparam("user_id"))
    .cte("u")
)
#: ...and their roles, one row a role.
_USER_RECORD = (
    select(_USER_ROW, UserRole.role)
    .select_from(_USER_ROW)
    .outerjoin(UserRole, UserRole.user_id == _USER_ROW.c.id)
    .order_by(UserRole.role)
)
#: The entry of a read in the reader's own area, written by the statement that reads (PostgreSQL).
_READ_ENTRY = (
    audit.insert_from(
        _USER_ROW,
        "core.user.read",
        object_type="user",
        subject=literal("user:") + _USER_ROW.c.id,
        division_code=_USER_ROW.c.division_code,
        when=policy.own_area_clause(_USER_ROW.c.division_code),
    )
    .returning(literal(1))
    .cte("entry")
)
#: The user, their roles and whether the read's entry was written, in one statement.
_USER_RECORD_AUDITED = _USER_RECORD.add_columns(
    select(func.count()).select_from(_READ_ENTRY).scalar_subquery().label("audited")
)


def read_user(session: Session, principal: Principal, user_id: str, *, purpose: str | None) -> UserRecord:
    """What :func:`get_user` answers, with the same checks and the same audit entry, in one statement.

    :func:`get_user` loads the user through the ORM (a query for the user and their agency, one
    for their roles, objects built for each), reads the reader's grants, then inserts the entry:
    four round trips in a transaction. Here, on PostgreSQL, the read of someone else's record
    in the reader's own area writes its entry in the same statement (``INSERT`` in a ``WITH``),
    so with :func:`audit.statement_at_a_time` a read is one round trip and one commit, durable
    before the answer. A record outside the reader's own area (a grant may open it), a read
    without a purpose and SQLite take the long way: the same checks, in the same order, as
    :func:`get_user`.
    """
    own = user_id == principal.id
    if not own:
        policy.require(principal, "core.user.read")
    fused = not own and bool(purpose and purpose.strip()) and session.get_bind().dialect.name == "postgresql"
    if fused:
        params = {"user_id": user_id, **audit.insert_params(principal, purpose), **policy.own_area_params(principal)}
        rows = session.connection().execute(_USER_RECORD_AUDITED, params).all()
    else:
        rows = session.connection().execute(_USER_RECORD, {"user_id": user_id}).all()
    if not rows:
        if own:
            policy.require(principal, "core.user.read")
        raise NotFound(f"no user {user_id}")
    first = rows[0]
    record = UserRecord(
        id=first.id,
        username=first.username,
        display_name=first.display_name,
        kind=str(first.kind),
        roles=[Role(r.role) for r in rows if r.role is not None],
        agency_code=first.agency_code,
        division_code=first.division_code,
        active=first.active,
        created_at=first.created_at,
    )
    if own:
        return record  # one's own record: not a read of someone else's data
    if fused and first.audited:
        if not policy.own_area(principal, record.division_code):  # the statement and the policy disagree
            raise PermissionDenied(f"this core.user record belongs to division {record.division_code}")
        return record
    policy.require_in_scope(session, principal, "core.user", record.division_code)
    audit.personal_read(
        session,
        principal,
        "core.user.read",
        f"user:{record.id}",
        purpose,
        object_type="user",
        division_code=record.division_code,
    )
    return record


def update_user(
    session: Session,
    principal: Principal,
    user_id: str,
    *,
    active: bool | None = None,
    roles: list[Role] | None = None,
    reason: str,
) -> User:
    policy.require(principal, "core.user.update")
    user = session.get(User, user_id, with_for_update={"of": User})
    if user is None:
        raise NotFound(f"no user {user_id}", words=Words("users.edit.missing"))
    policy.require_in_scope(session, principal, "core.user", user.division_code)
    if user.id == principal.id and active is False:
        raise InvalidInput("you cannot disable your own account", words=Words("users.edit.own_account"))
    changes: list[str] = []
    if active is not None and active != user.active:
        user.active = active
        changes.append("activated" if active else "disabled")
    detail: dict[str, Any] = {}
    if roles is not None:
        # the column holds a plain string: compare by value (``is`` refused every staff member)
        if PrincipalKind(user.kind) is not PrincipalKind.STAFF and roles:
            raise InvalidInput("only agency staff hold roles", words=Words("users.edit.staff_only"))
        if PrincipalKind(user.kind) is PrincipalKind.STAFF and not roles:
            raise InvalidInput("staff hold at least one role", words=Words("users.edit.one_role"))
        before = sorted(str(r) for r in user.roles)
        after = sorted({str(r) for r in roles})
        if before != after:
            if user.id == principal.id:
                raise PermissionDenied("you cannot change your own roles; ask another administrator")
            granted = set(after) - set(before)
            beyond = sorted(granted - {str(r) for r in principal.roles})
            if beyond:
                raise PermissionDenied(
                    f"you can grant only roles you hold yourself; you do not hold {', '.join(beyond)}"
                )
            kept = {str(r.role): r for r in user.role_rows if str(r.role) in after}
            user.role_rows = [kept.get(r) or UserRole(role=Role(r)) for r in after]
            changes.append("roles=" + ",".join(after))
            detail["roles"] = {"from": before, "to": after}
    if not changes:
        return user
    session.flush()
    audit.record(
        session,
        principal,
        "core.user.updated",
        object_type="user",
        object_id=user.id,
        subject=f"user:{user.id}",
        division_code=user.division_code,
        purpose=reason,
        detail={"changes": changes, **detail},
    )
    events.publish(
        session, USER_UPDATED, UserUpdated(user_id=user.id, changes=changes), principal=principal, reason=reason
    )
    return user


def temporary_password() -> str:
    """A one-time password an administrator hands over: 16 random letters and digits in groups
    (easy to read out), strong enough for :func:`check_strength`."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
    while True:
        raw = "".join(secrets.choice(alphabet) for _ in range(16))
        if not raw.isalpha() and not raw.isdigit():
            return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def reset_password(
    session: Session, principal: Principal, user_id: str, *, password: HashedPassword, reason: str
) -> User:
    """An administrator sets a temporary password for a user of their area (who forgot theirs):
    every open browser session of that user ends, and the reset is audited. The password is
    hashed before the transaction (:func:`~onecity.core.identity.passwords.prehash`) and shown
    once to the administrator, never stored in clear."""
    policy.require(principal, "core.user.update")
    user = session.get(User, user_id, with_for_update={"of": User})
    if user is None:
        raise NotFound(f"no user {user_id}", words=Words("users.edit.missing"))
    policy.require_in_scope(session, principal, "core.user", user.division_code)
    if user.id == principal.id:
        raise InvalidInput(
            "change your own password with your current one, not by a reset",
            words=Words("users.edit.own_password"),
        )
    return set_password(session, principal, user, password=password, temporary=True, reason=reason)


def set_password(
    session: Session,
    principal: Principal,
    user: User,
    *,
    password: HashedPassword,
    temporary: bool,
    reason: str,
    detail: dict[str, Any] | None = None,
) -> User:
    """Give ``user`` (locked by the caller) a new password: every open browser session of theirs ends,
    and the reset is audited (``core.user.password_reset``) and published. The caller has checked
    who may: an administrator (:func:`reset_password`, a ``temporary`` password its holder must
    change), or the holder with a one-time code (:func:`onecity.core.identity.recovery.reset_with_code`)."""
    user.password_hash = password.value
    user.password_changed_at = clock.now()
    user.must_change_password = temporary
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    audit.record(
        session,
        principal,
        "core.user.password_reset",
        object_type="user",
        object_id=user.id,
        subject=f"user:{user.id}",
        division_code=user.division_code,
        purpose=reason,
        detail=detail,
    )
    events.publish(
        session,
        USER_UPDATED,
        UserUpdated(user_id=user.id, changes=["password_reset"]),
        principal=principal,
        reason=reason,
    )
    return user


def change_password(session: Session, principal: Principal, *, current: str, new: str) -> None:
    policy.require(principal, "core.me.password")
    user = session.get(User, principal.id)
    if user is None or not verify_password(user.password_hash, current):
        raise InvalidInput("the current password is not correct", words=Words("password.wrong_current"))
    check_strength(new)
    if verify_password(user.password_hash, new):
        raise InvalidInput("choose a password other than the current one", words=Words("password.same"))
    forced = user.must_change_password
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    user.must_change_password = False
    audit.record(
        session,
        principal,
        "core.user.password_changed",
        object_type="user",
        object_id=user.id,
        subject=f"user:{user.id}",
        division_code=user.division_code,
        detail={"after_reset": forced},
    )


def user_caller(user: User) -> Caller:
    """The user's principal and the fields of their record ``/auth/me`` shows, as the caller cache keeps them."""
    profile = Profile(
        username=user.username, display_name=user.display_name, active=user.active, created_at=user.created_at
    )
    return Caller(principal_for_user(user), profile=profile)


def principal_for_user(user: User) -> Principal:
    return Principal(
        kind=PrincipalKind(user.kind),
        id=user.id,
        name=user.display_name or user.username,
        roles=frozenset(user.roles),
        agency_id=user.agency_id,
        agency_code=user.agency.code if user.agency else None,
        division_code=user.division_code,
    )


# -- API keys -------------------------------------------------------------------------------


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: Session,
    principal: Principal,
    *,
    name: str,
    scopes: list[str],
    agency_code: str | None = None,
    division_code: str | None = None,
    expires_at: datetime | None = None,
    roles: list[Role] | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its secret. The secret is shown once; only its hash is stored.

    A key is bound to one agency and one division inside its creator's own area (by default
    the creator's agency) and never holds more than its creator: its roles are a subset of
    the creator's roles, and a key that makes keys passes on only scopes it has itself. The
    ``admin`` scope opens the staff API to the key, which then acts with its roles (by default
    the administrator role alone) and passes through the same checks as a person; without
    the scope it is a channel key (sensing, open311, read) and acts with no role.
    """
    policy.require(principal, "core.apikey.create")
    if not name.strip():
        raise InvalidInput("an API key needs a name that says who uses it, e.g. 'xuhui-rain-gauges'")
    valid = {s.value for s in Scope}
    bad = [s for s in scopes if s not in valid]
    if not scopes or bad:
        raise InvalidInput(f"scopes must be some of {sorted(valid)}; got {bad or 'none'}")
    if principal.api_key and not set(scopes) <= principal.scopes:
        raise PermissionDenied(
            f"a key cannot give more than it holds: this key lacks {sorted(set(scopes) - principal.scopes)}"
        )
    wanted = list(dict.fromkeys(roles or []))
    if wanted and Scope.ADMIN.value not in scopes:
        raise InvalidInput("a key acts with roles through the staff API: add the 'admin' scope, or give no roles")
    if Scope.ADMIN.value in scopes and not wanted:
        wanted = [Role.ADMIN]  # what the scope says; the creator holds it (core.apikey.create needs it)
    beyond = sorted(str(r) for r in set(wanted) - principal.roles)
    if beyond:
        raise PermissionDenied(f"a key cannot hold more than its creator: you do not hold {', '.join(beyond)}")
    if agency_code is None and not principal.is_machine:
        agency_code = principal.agency_code
    if agency_code is None and wanted:
        raise InvalidInput("a key with roles belongs to an agency: give agency_code")
    agency = agency_by_code(session, agency_code) if agency_code else None
    if agency is not None:
        if not agency.active:
            raise InvalidInput(f"agency {agency.code} is inactive")
        if agency.id != principal.agency_id:
            _require_covers(principal, agency.division_code, f"issuing a key for agency {agency.code}")
        if division_code is None:
            division_code = (
                agency.division_code
                if principal.division_code and contains(principal.division_code, agency.division_code)
                else principal.division_code
            )
    division_code = division_code or principal.division_code
    if division_code is None:
        raise InvalidInput("a key belongs to a division: give division_code")
    _division(session, division_code)
    _require_covers(principal, division_code, "issuing a key")
    if agency is not None and not (
        contains(agency.division_code, division_code) or contains(division_code, agency.division_code)
    ):
        raise InvalidInput(
            f"division {division_code} is not served by agency {agency.code} (which sits in {agency.division_code})"
        )
    agency_id = agency.id if agency else None
    prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        key_hash=_hash_key(secret),
        scopes=sorted(set(scopes)),
        roles=sorted(str(r) for r in wanted),
        agency_id=agency_id,
        division_code=division_code,
        created_by=principal.ref,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        principal,
        "core.apikey.created",
        object_type="apikey",
        object_id=key.id,
        division_code=key.division_code,
        detail={"name": key.name, "scopes": key.scopes, "roles": key.roles, "agency": agency_code},
    )
    events.publish(
        session,
        APIKEY_CREATED,
        ApiKeyCreated(api_key_id=key.id, name=key.name, scopes=key.scopes),
        principal=principal,
        reason="api key created",
    )
    return key, secret


def revoke_api_key(session: Session, principal: Principal, key_id: str) -> ApiKey:
    policy.require(principal, "core.apikey.revoke")
    key = session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    policy.require_in_scope(session, principal, "core.apikey", key.division_code)
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        audit.record(
            session,
            principal,
            "core.apikey.revoked",
            object_type="apikey",
            object_id=key.id,
            division_code=key.division_code,
        )
        events.publish(
            session, APIKEY_REVOKED, ApiKeyRevoked(api_key_id=key.id), principal=principal, reason="api key revoked"
        )
    return key


def list_api_keys(session: Session, principal: Principal, *, limit: int = 500, offset: int = 0) -> list[ApiKey]:
    policy.require(principal, "core.apikey.list")
    return list(
        session.scalars(
            select(ApiKey)
            .where(policy.scope_clause(session, principal, "core.apikey", ApiKey.division_code))
            .order_by(ApiKey.created_at, ApiKey.id)
            .limit(min(limit, 500))
            .offset(offset)
        )
    )


def principal_for_api_key(session: Session, secret: str) -> Principal:
    """The principal a key stands for: its roles, agency, division and scopes; 401 if unknown, revoked or expired."""
    return api_key_caller(session, secret).principal


def api_key_caller(session: Session, secret: str) -> Caller:
    """:func:`principal_for_api_key` with the key's expiry, as the caller cache keeps it."""
    parts = secret.split("_")
    if not secret.startswith(API_KEY_PREFIX) or len(parts) < 3:
        raise AuthenticationRequired("the API key is malformed; keys look like oc_xxxxxxxx_…")
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if key is None or not secrets.compare_digest(key.key_hash, _hash_key(secret)):
        raise AuthenticationRequired("the API key is not valid")
    now = clock.now()
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise AuthenticationRequired("the API key was revoked or has expired")
    agency = session.get(Agency, key.agency_id) if key.agency_id else None
    principal = Principal(
        kind=PrincipalKind.SYSTEM,
        id=key.id,
        name=key.name,
        roles=frozenset(Role(r) for r in key.roles or []),
        agency_id=key.agency_id,
        agency_code=agency.code if agency else None,
        division_code=key.division_code,
        scopes=frozenset(key.scopes),
        api_key=True,
    )
    return Caller(principal, expires_at=key.expires_at)


def api_key_hash(secret: str) -> str:
    """What the caller cache files a key under: the hash of the whole secret, never the secret."""
    return _hash_key(secret)


def remembered_api_key_caller(session: Session, secret: str, callers: CallerCache) -> Caller:
    """:func:`api_key_caller` through a process's caller cache: read only when not remembered."""
    generation, digest = callers.generation, _hash_key(secret)
    caller = callers.api_key(digest)
    if caller is None:
        caller = api_key_caller(session, secret)
        callers.remember_api_key(digest, caller, generation)
    return caller


def require_scope(principal: Principal, scope: Scope) -> None:
    """API keys reach only what their scopes say (``admin`` does not stand for the others);
    people are checked by role instead, and the machine itself is not an API key."""
    if principal.api_key and scope.value not in principal.scopes:
        raise PermissionDenied(f"this API key lacks the {scope.value!r} scope")


# -- grants ---------------------------------------------------------------------------------


def create_grant(
    session: Session,
    principal: Principal,
    *,
    resource: str,
    scope_division_code: str,
    purpose: str,
    grantee_agency_code: str | None = None,
    grantee_division_code: str | None = None,
    fields: list[str] | None = None,
    valid_until: datetime | None = None,
) -> AccessGrant:
    """Share one kind of record of an area with an agency or a division. Only the area's owner may."""
    policy.require(principal, "core.grant.create")
    _division(session, scope_division_code)
    _require_covers(principal, scope_division_code, "granting access to records")
    if (grantee_agency_code is None) == (grantee_division_code is None):
        raise InvalidInput("a grant goes to exactly one grantee: an agency or a division")
    if not purpose.strip():
        raise InvalidInput("a grant needs a purpose, e.g. 'flood response 2026-07'")
    if valid_until is not None and valid_until <= clock.now():
        raise InvalidInput("valid_until must be in the future")
    agency_id = agency_by_code(session, grantee_agency_code).id if grantee_agency_code else None
    if grantee_division_code:
        _division(session, grantee_division_code)
    grant = AccessGrant(
        resource=resource,
        scope_division_code=scope_division_code,
        grantee_agency_id=agency_id,
        grantee_division_code=grantee_division_code,
        fields=fields,
        purpose=purpose.strip(),
        granted_by=principal.ref,
        valid_until=valid_until,
        revoked_at=None,
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        principal,
        "core.grant.created",
        object_type="grant",
        object_id=grant.id,
        purpose=grant.purpose,
        division_code=scope_division_code,
        detail={
            "resource": resource,
            "agency": grantee_agency_code,
            "division": grantee_division_code,
            "fields": fields,
        },
    )
    events.publish(
        session,
        GRANT_CHANGED,
        GrantChanged(grant_id=grant.id, resource=resource, scope_division_code=scope_division_code, revoked=False),
        principal=principal,
        reason=grant.purpose,
    )
    return grant


def revoke_grant(session: Session, principal: Principal, grant_id: str, *, reason: str) -> AccessGrant:
    policy.require(principal, "core.grant.revoke")
    grant = session.get(AccessGrant, grant_id, with_for_update=True)
    if grant is None:
        raise NotFound(f"no grant {grant_id}")
    _require_covers(principal, grant.scope_division_code, "revoking a grant")
    if grant.revoked_at is None:
        grant.revoked_at = clock.now()
        audit.record(
            session,
            principal,
            "core.grant.revoked",
            object_type="grant",
            object_id=grant.id,
            purpose=reason,
            division_code=grant.scope_division_code,
        )
        events.publish(
            session,
            GRANT_CHANGED,
            GrantChanged(
                grant_id=grant.id, resource=grant.resource, scope_division_code=grant.scope_division_code, revoked=True
            ),
            principal=principal,
            reason=reason,
        )
    return grant


def list_grants(session: Session, principal: Principal, *, limit: int = 500, offset: int = 0) -> list[AccessGrant]:
    policy.require(principal, "core.grant.list")
    return list(
        session.scalars(
            select(AccessGrant)
            .where(policy.scope_clause(session, principal, "core.grant", AccessGrant.scope_division_code))
            .order_by(AccessGrant.created_at, AccessGrant.id)
            .limit(min(limit, 500))
            .offset(offset)
        )
    )
