"""Which check guards each HTTP route: one table, read by the authorization matrix test and by docs/access.md.

The access policy (:mod:`onecity.core.policy`) says who may perform an *action*; this module
says which action(s) each *route* is guarded by, or why a route is open. Every route the
application serves (``/api/v1``, ``/sta/v1.1``, ``/open311/v2`` and the pages) must have a row
here: ``tests/core/test_access_matrix.py`` fails on a route without one, and on a registered
action that no route or :data:`NOT_ON_HTTP` row accounts for. A part that adds a route adds its
row in the same commit; ``python -m scripts.access_doc`` then rewrites ``docs/access.md``.

Kinds of guard (what the matrix expects of each caller):

* ``staff(action, …)`` — staff whose role the policy allows for one of the actions; the
  policy's own rule for API keys (see :func:`onecity.core.policy.require`). ``scope`` names the
  division-scoped resource checked on the record (own district: allowed; another: refused).
* ``applicant(action, …)`` — residents reach their own records (another resident's: refused);
  staff as for ``staff``.
* ``me(action)`` — a self-service action: every signed-in person, about themselves.
* ``signed_in(reason)`` — every authenticated caller, people and API keys.
* ``devices(scope, roles, …)`` — API keys with a scope (devices, partner systems) and the staff
  roles named; used where the part checks the key scope itself.
* ``public(reason)`` — open to anyone, with the reason it is public by nature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from onecity.core.identity.roles import Role


@dataclass(frozen=True)
class Guard:
    kind: str  # staff / applicant / me / signed_in / devices / public
    actions: tuple[str, ...] = ()
    reason: str = ""
    scope: str | None = None  # division-scoped resource checked on the record
    key_scope: str | None = None  # for devices: the API-key scope that admits
    roles: frozenset[Role] = field(default_factory=frozenset)  # for devices: the staff roles that admit
    hides: bool = False  # a refused caller gets 404 (the record's existence is not disclosed) instead of 403
    narrower: str = ""  # the route narrows further than the policy (say how): only refusals are checked


def staff(*actions: str, scope: str | None = None, hides: bool = False, reason: str = "", narrower: str = "") -> Guard:
    return Guard("staff", actions, reason=reason, scope=scope, hides=hides, narrower=narrower)


def applicant(*actions: str, reason: str = "", hides: bool = False, narrower: str = "") -> Guard:
    return Guard("applicant", actions, reason=reason, hides=hides, narrower=narrower)


def me(action: str, reason: str = "") -> Guard:
    return Guard("me", (action,), reason=reason)


def signed_in(reason: str) -> Guard:
    return Guard("signed_in", reason=reason)


def devices(key_scope: str, roles: frozenset[Role], reason: str) -> Guard:
    return Guard("devices", reason=reason, key_scope=key_scope, roles=roles)


def public(reason: str) -> Guard:
    return Guard("public", reason=reason)


CATALOGUE = "what the government offers is public (no personal data)"
VERIFY = "anyone may check a certificate they were shown; answers name no holder beyond the credential"
MAP = "district outlines and names are public geography"
SOURCE = "the report's source decides: hotline work orders for dispatchers, inspections for inspectors"
LINKED = "residents whose account is linked to their person record"
STA_WRITERS = frozenset({Role.OPERATOR, Role.ADMIN})
CITY_KEYS = "the city's signing keys: city-level administrators only, never a district's or an API key"
# one case step's action, on the operations API and on the centre's case page alike
CASE_STEPS = staff(
    "ops.case.register",
    "ops.case.dispatch",
    "ops.case.dispose",
    "ops.case.verify",
    "ops.case.close",
    "ops.case.evaluate",
    "ops.case.suspend",
    "ops.case.resolve",
)

#: (method, path template) -> guard, grouped by part. Paths are as the application declares them.
ROUTES: dict[tuple[str, str], Guard] = {
    # -- core: identity, administration, audit ----------------------------------------------
    ("GET", "/api/v1/health"): public("liveness for load balancers; says nothing about data"),
    ("GET", "/openapi.json"): public("the API's description"),
    ("GET", "/api/docs"): public("the API's description, as a page"),
    ("POST", "/api/v1/auth/token"): public("signing in"),
    ("GET", "/api/v1/auth/me"): me("core.me.read"),
    ("POST", "/api/v1/auth/password"): me("core.me.password"),
    ("GET", "/api/v1/divisions"): signed_in("the list of administrative divisions is public geography"),
    ("GET", "/api/v1/agencies"): staff("core.agency.list"),
    ("POST", "/api/v1/agencies"): staff("core.agency.create"),
    ("GET", "/api/v1/users"): staff("core.user.list"),
    ("POST", "/api/v1/users"): staff("core.user.create"),
    ("GET", "/api/v1/users/{user_id}"): staff("core.user.read", scope="core.user"),
    ("PATCH", "/api/v1/users/{user_id}"): staff("core.user.update", scope="core.user"),
    ("GET", "/api/v1/apikeys"): staff("core.apikey.list"),
    ("POST", "/api/v1/apikeys"): staff(
        "core.apikey.create",
        narrower="for an agency and division in the creator's area, never beyond the creator's roles "
        "(nor, for a key, its scopes)",
    ),
    ("DELETE", "/api/v1/apikeys/{key_id}"): staff("core.apikey.revoke", scope="core.apikey"),
    ("GET", "/api/v1/grants"): staff("core.grant.list"),
    ("POST", "/api/v1/grants"): staff("core.grant.create"),
    ("POST", "/api/v1/grants/{grant_id}/revoke"): staff("core.grant.revoke"),
    ("GET", "/api/v1/audit"): staff("core.audit.read"),
    ("GET", "/api/v1/audit/verify"): staff("core.audit.verify", narrower="municipal auditors only"),
    ("GET", "/api/v1/audit/checkpoints"): staff("core.audit.checkpoints"),
    ("GET", "/api/v1/me/access-log"): me("core.me.access_log"),
    # pages
    ("GET", "/"): public("the home page; what it shows depends on who is signed in"),
    ("GET", "/geo/districts.geojson"): public(MAP),
    ("GET", "/lang/{lang}"): public("choosing the language of the pages"),
    ("GET", "/a11y/{mode}"): public("choosing the text size of the pages"),
    ("GET", "/login"): public("the sign-in form"),
    ("POST", "/login"): public("signing in"),
    ("POST", "/logout"): public("signing out (closes the caller's own session, if any)"),
    ("GET", "/account/password"): me("core.me.password"),
    ("POST", "/account/password"): me("core.me.password"),
    ("GET", "/login/register"): public("the residents' registration form"),
    ("POST", "/login/register"): public("asking for a registration code (rate-limited per ID number and address)"),
    ("POST", "/login/register/confirm"): public("registering with a one-time code (tries limited per code)"),
    ("GET", "/login/forgot"): public("the forgotten-password form"),
    ("POST", "/login/forgot"): public("asking for a password reset code (rate-limited per account and address)"),
    ("POST", "/login/forgot/confirm"): public("resetting a password with a one-time code (tries limited per code)"),
    ("GET", "/admin/users"): staff("core.user.list"),
    ("POST", "/admin/users"): staff("core.user.create"),
    ("GET", "/admin/users/{user_id}"): staff("core.user.read", scope="core.user"),
    ("POST", "/admin/users/{user_id}/roles"): staff("core.user.update", scope="core.user"),
    ("POST", "/admin/users/{user_id}/active"): staff("core.user.update", scope="core.user"),
    ("POST", "/admin/users/{user_id}/password"): staff("core.user.update", scope="core.user"),
    ("GET", "/audit"): staff("core.audit.read"),
    ("POST", "/audit/verify"): staff("core.audit.verify", narrower="municipal auditors only"),
    ("GET", "/audit/verify/progress"): staff("core.audit.verify", narrower="municipal auditors only"),
    ("GET", "/audit/export.csv"): staff("core.audit.export"),
    ("GET", "/me/data"): me("core.me.access_log"),
    ("GET", "/me/inbox"): me("core.me.read"),
    ("POST", "/me/inbox/read"): me("core.me.read"),
    ("POST", "/me/inbox/{notification_id}/read"): me("core.me.read", reason="only the reader's own notifications"),
    # -- hub: geography, catalogue, sharing -------------------------------------------------
    ("GET", "/api/v1/divisions/{code}"): staff("hub.geography.read"),
    ("GET", "/api/v1/divisions/{code}/geometry"): staff("hub.geography.read"),
    ("GET", "/api/v1/geography/locate"): staff("hub.geography.read"),
    ("GET", "/api/v1/geography/geocode"): staff("hub.geography.read"),
    ("GET", "/api/v1/geography/reverse"): staff("hub.geography.read"),
    ("GET", "/divisions"): staff("hub.geography.read"),
    ("GET", "/divisions/{code}"): staff("hub.geography.read"),
    ("GET", "/geo/divisions/{code}.geojson"): staff("hub.geography.read"),
    ("GET", "/geo/tiles/{z}/{x}/{y}.pbf"): signed_in(
        "the base map under every staff page's map: the city's own geography"
    ),
    ("GET", "/api/v1/catalog/datasets"): signed_in("the catalogue describes datasets, not their records"),
    ("GET", "/api/v1/catalog/datasets/{code}"): signed_in("the catalogue describes datasets, not their records"),
    ("POST", "/api/v1/catalog/datasets"): staff("hub.dataset.create"),
    ("PUT", "/api/v1/catalog/datasets/{code}"): staff("hub.dataset.update"),
    ("GET", "/api/v1/catalog/dcat"): public("the open-data catalogue (DCAT-AP) is published by design"),
    ("GET", "/catalogue"): signed_in("the catalogue describes datasets, not their records"),
    ("GET", "/catalogue/{code}"): signed_in("the catalogue describes datasets, not their records"),
    ("POST", "/catalogue/{code}/request"): staff("hub.share.request"),
    ("POST", "/api/v1/sharing/requests"): staff("hub.share.request"),
    ("GET", "/api/v1/sharing/requests"): staff("hub.share.list"),
    ("GET", "/api/v1/sharing/requests/{request_id}"): staff("hub.share.list"),
    ("POST", "/api/v1/sharing/requests/{request_id}/approve"): staff("hub.share.decide"),
    ("POST", "/api/v1/sharing/requests/{request_id}/refuse"): staff("hub.share.decide"),
    ("POST", "/api/v1/sharing/requests/{request_id}/withdraw"): staff("hub.share.withdraw"),
    ("POST", "/api/v1/sharing/requests/{request_id}/revoke"): staff("hub.share.decide"),
    ("GET", "/api/v1/sharing/datasets/{code}/records"): staff("hub.dataset.read"),
    ("POST", "/api/v1/sharing/residents/links"): staff("hub.resident.link"),
    ("GET", "/sharing"): staff("hub.share.list"),
    ("POST", "/sharing/requests/{request_id}/{action}"): staff("hub.share.decide", "hub.share.withdraw"),
    # -- credentials -------------------------------------------------------------------------
    ("POST", "/api/v1/credentials/verify"): public(VERIFY),
    ("GET", "/api/v1/credentials/status/{list_id}"): public("status lists are fetched by every verifier"),
    ("GET", "/api/v1/me/credentials"): me("core.me.read"),
    ("GET", "/api/v1/credentials/{credential_id}"): applicant("credentials.credential.read"),
    ("POST", "/api/v1/credentials"): staff("credentials.credential.issue"),
    ("POST", "/api/v1/credentials/{credential_id}/status"): staff(
        "credentials.credential.revoke", "credentials.credential.suspend", "credentials.credential.reinstate"
    ),
    ("POST", "/api/v1/credentials/keys/{kid}/withdraw"): staff("credentials.key.withdraw", narrower=CITY_KEYS),
    ("GET", "/api/v1/credentials/keys/withdrawals"): staff("credentials.key.withdraw.list", narrower=CITY_KEYS),
    ("POST", "/api/v1/credentials/keys/withdrawals/{request_id}/approve"): staff(
        "credentials.key.withdraw.approve", narrower=CITY_KEYS + "; and not by the administrator who asked"
    ),
    ("POST", "/api/v1/credentials/keys/withdrawals/{request_id}/refuse"): staff(
        "credentials.key.withdraw.refuse", narrower=CITY_KEYS
    ),
    ("POST", "/api/v1/credentials/keys/rotate"): staff("credentials.key.rotate", narrower=CITY_KEYS),
    ("GET", "/.well-known/jwks.json"): public("the public keys verifiers need"),
    ("GET", "/verify"): public(VERIFY),
    ("POST", "/verify"): public(VERIFY),
    ("GET", "/verify/{credential_id}"): public(VERIFY),
    ("GET", "/credentials"): me("core.me.read"),
    ("GET", "/credentials/{credential_id}"): applicant("credentials.credential.read"),
    ("POST", "/credentials/{credential_id}/status"): staff(
        "credentials.credential.revoke", "credentials.credential.suspend", "credentials.credential.reinstate"
    ),
    ("GET", "/credentials/{credential_id}/qr.svg"): applicant("credentials.credential.read"),
    ("GET", "/credentials/{credential_id}/certificate.pdf"): applicant(
        "credentials.credential.read", reason="also a resident proven to act for the holder (relation or power)"
    ),
    # -- sensing -----------------------------------------------------------------------------
    ("GET", "/api/v1/sensing/rules"): staff("sensing.rule.list"),
    ("POST", "/api/v1/sensing/rules"): staff("sensing.rule.manage"),
    ("PATCH", "/api/v1/sensing/rules/{rule_id}"): staff("sensing.rule.manage"),
    ("DELETE", "/api/v1/sensing/rules/{rule_id}"): staff("sensing.rule.manage"),
    ("GET", "/api/v1/sensing/alerts"): staff("sensing.alert.list"),
    ("GET", "/api/v1/sensing/devices"): staff("sensing.alert.list"),
    ("GET", "/sta/v1.1"): public("the SensorThings service root lists entity sets, no data"),
    ("GET", "/sta/v1.1/"): public("the SensorThings service root lists entity sets, no data"),
    ("GET", "/sta/v1.1/{path:path}"): signed_in("SensorThings reads: any API key or signed-in user"),
    ("POST", "/sta/v1.1/CreateObservations"): devices("sensing", STA_WRITERS, "devices write observations"),
    ("POST", "/sta/v1.1/{path:path}"): devices("sensing", STA_WRITERS, "SensorThings writes"),
    ("PATCH", "/sta/v1.1/{path:path}"): devices("sensing", STA_WRITERS, "SensorThings writes"),
    ("PUT", "/sta/v1.1/{path:path}"): devices("sensing", STA_WRITERS, "SensorThings writes"),
    ("DELETE", "/sta/v1.1/{path:path}"): devices("sensing", STA_WRITERS, "SensorThings writes"),
    ("GET", "/sensing"): staff("sensing.alert.list"),
    ("GET", "/sensing/alerts.json"): staff("sensing.alert.list"),
    ("GET", "/sensing/datastreams/{ds_id}"): staff("sensing.alert.list"),
    ("GET", "/sensing/rules"): staff("sensing.rule.list"),
    ("POST", "/sensing/rules"): staff("sensing.rule.manage"),
    ("POST", "/sensing/rules/{rule_id}/toggle"): staff("sensing.rule.manage"),
    # -- traffic -----------------------------------------------------------------------------
    ("GET", "/api/v1/traffic/network"): staff("traffic.read"),
    ("GET", "/api/v1/traffic/segments"): staff("traffic.read"),
    ("GET", "/api/v1/traffic/segments/{edge_id}"): staff("traffic.read"),
    ("GET", "/api/v1/traffic/index"): staff("traffic.read"),
    ("GET", "/api/v1/traffic/index/series"): staff("traffic.read"),
    ("GET", "/api/v1/traffic/index/history"): staff("traffic.read"),
    ("GET", "/api/v1/traffic/incidents"): staff("traffic.read"),
    ("GET", "/traffic"): staff("traffic.read"),
    # -- services ----------------------------------------------------------------------------
    ("GET", "/api/v1/services/items"): public(CATALOGUE),
    ("GET", "/api/v1/services/items/{code}"): public(CATALOGUE),
    ("GET", "/api/v1/services/workflows/{shape}.bpmn"): public(CATALOGUE),
    ("GET", "/api/v1/services/departments"): public(CATALOGUE),
    ("GET", "/api/v1/services/bundles"): public(CATALOGUE),
    ("GET", "/api/v1/services/performance"): public("performance figures are published for accountability"),
    ("GET", "/api/v1/services/ratings"): public("ratings are published for accountability"),
    ("POST", "/api/v1/services/fields/check"): public(
        "checks typed values against the catalogue's published field rules; reads and stores nothing"
    ),
    ("POST", "/api/v1/services/cases"): applicant("services.case.counter"),
    ("GET", "/api/v1/services/cases"): applicant(narrower=LINKED),
    ("GET", "/api/v1/services/counter/cases"): staff("services.case.counter"),
    ("GET", "/api/v1/services/cases/{case_id}"): applicant("services.case.read"),
    ("PATCH", "/api/v1/services/cases/{case_id}/form"): applicant(),
    ("POST", "/api/v1/services/cases/{case_id}/documents"): applicant(),
    ("POST", "/api/v1/services/cases/{case_id}/submit"): applicant(),
    ("POST", "/api/v1/services/cases/{case_id}/resubmit"): applicant(),
    ("POST", "/api/v1/services/cases/{case_id}/withdraw"): applicant(),
    ("POST", "/api/v1/services/cases/{case_id}/rating"): applicant(),
    ("POST", "/api/v1/services/ratings/{rating_id}/follow-up"): staff("services.rating.follow_up"),
    ("GET", "/api/v1/services/cases/{case_id}/prereviews"): staff("services.case.read"),
    ("POST", "/api/v1/services/cases/{case_id}/prereview/override"): staff("services.work.complete"),
    ("GET", "/api/v1/services/work"): staff("services.work.list"),
    ("POST", "/api/v1/services/work/{work_item_id}/complete"): staff("services.work.complete"),
    ("POST", "/api/v1/services/bundles/{code}/applications"): applicant(),
    ("GET", "/api/v1/services/bundle-applications/{app_id}"): applicant("services.case.read"),
    ("PATCH", "/api/v1/services/bundle-applications/{app_id}/form"): applicant(),
    ("POST", "/api/v1/services/bundle-applications/{app_id}/documents"): applicant(),
    ("POST", "/api/v1/services/bundle-applications/{app_id}/submit"): applicant(),
    ("GET", "/services"): public(CATALOGUE),
    ("GET", "/benefits"): public(CATALOGUE),
    ("GET", "/benefits/offers"): applicant(narrower=LINKED),
    ("POST", "/benefits/offers/{offer_id}/accept"): applicant(narrower=LINKED),
    ("POST", "/benefits/offers/{offer_id}/decline"): applicant(narrower=LINKED),
    ("POST", "/benefits/objections/new"): applicant(narrower=LINKED),
    ("GET", "/benefits/objections"): staff("benefits.objection.list"),
    ("POST", "/benefits/objections/{objection_id}/answer"): staff("benefits.objection.answer"),
    ("GET", "/services/items/{code}"): public(CATALOGUE),
    ("POST", "/services/items/{code}/apply"): applicant(),
    ("GET", "/services/cases/{case_id}"): applicant("services.case.read"),
    ("GET", "/services/cases/{case_id}/documents/{document_id}"): applicant("services.case.read"),
    ("POST", "/services/cases/{case_id}/prereview/override"): staff("services.work.complete"),
    ("POST", "/services/cases/{case_id}/form"): applicant(),
    ("POST", "/services/cases/{case_id}/documents"): applicant(),
    ("POST", "/services/cases/{case_id}/materials/{material_code}/remove"): applicant(),
    ("POST", "/services/cases/{case_id}/{action}"): applicant(),
    ("GET", "/services/bundles/{code}"): public(CATALOGUE),
    ("POST", "/services/bundles/{code}/apply"): applicant(),
    ("GET", "/services/bundle-applications/{app_id}"): applicant("services.case.read"),
    ("POST", "/services/bundle-applications/{app_id}/form"): applicant(),
    ("POST", "/services/bundle-applications/{app_id}/documents"): applicant(),
    ("POST", "/services/bundle-applications/{app_id}/submit"): applicant(),
    ("POST", "/services/bundle-applications/{app_id}/delete"): applicant(),
    ("POST", "/api/v1/services/powers-of-attorney"): applicant("hub.registry.poa.record", narrower=LINKED),
    ("GET", "/api/v1/services/powers-of-attorney"): applicant(narrower=LINKED),
    ("POST", "/api/v1/services/powers-of-attorney/{poa_id}/revoke"): applicant(
        "hub.registry.poa.record", narrower=LINKED
    ),
    ("GET", "/services/powers"): applicant(narrower=LINKED),
    ("POST", "/services/powers"): applicant("hub.registry.poa.record", narrower=LINKED),
    ("POST", "/services/powers/{poa_id}/revoke"): applicant("hub.registry.poa.record", narrower=LINKED),
    ("GET", "/services/counter/powers"): staff("hub.registry.poa.record"),
    ("POST", "/services/counter/powers"): staff("hub.registry.poa.record"),
    ("GET", "/services/counter"): staff("services.case.counter"),
    ("POST", "/services/counter/apply"): staff("services.case.counter"),
    ("GET", "/services/work"): staff("services.work.list"),
    ("GET", "/services/work/{work_item_id}"): staff("services.work.list"),
    ("POST", "/services/work/{work_item_id}"): staff("services.work.complete"),
    ("POST", "/services/work/{work_item_id}/claim"): staff("services.work.complete"),
    ("POST", "/services/work/{work_item_id}/reassign"): staff("services.work.complete"),
    ("GET", "/services/performance"): public("performance figures are published for accountability"),
    # -- documents ---------------------------------------------------------------------------
    ("POST", "/api/v1/documents/read"): staff("documents.read"),
    # -- operations --------------------------------------------------------------------------
    ("GET", "/api/v1/ops/taxonomy"): signed_in("the case types and time limits, no case data"),
    ("POST", "/api/v1/ops/reports"): staff("ops.case.report", narrower=SOURCE),
    ("GET", "/api/v1/ops/cases"): staff("ops.case.read"),
    ("GET", "/api/v1/ops/cases/{case_id}"): staff("ops.case.read"),
    ("POST", "/api/v1/ops/cases/{case_id}/{action}"): CASE_STEPS,
    ("POST", "/api/v1/ops/media"): staff("ops.media.upload"),
    ("GET", "/api/v1/ops/centres/{code}"): staff("ops.case.read"),
    ("GET", "/api/v1/ops/centres/{code}/evaluation"): staff("ops.case.read"),
    ("GET", "/open311/v2/services.{fmt}"): public("GeoReport v2: the service list is public"),
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): public("GeoReport v2: service definitions are public"),
    ("GET", "/open311/v2/requests.{fmt}"): public("GeoReport v2: requests are public, without the reporter"),
    ("GET", "/open311/v2/requests/{request_id}.{fmt}"): public(
        "GeoReport v2: requests are public, without the reporter"
    ),
    ("GET", "/open311/v2/tokens/{token}.{fmt}"): public("GeoReport v2: the holder of a token learns its request id"),
    ("POST", "/open311/v2/requests.{fmt}"): devices("open311", frozenset(), "partner apps post with an api_key"),
    ("GET", "/ops"): staff("ops.case.read"),
    ("GET", "/ops/centre/{code}"): staff("ops.case.read"),
    ("GET", "/ops/centre/{code}/cases.geojson"): staff("ops.case.read"),
    ("GET", "/ops/centre/{code}/list"): staff("ops.case.read"),
    ("GET", "/ops/centre/{code}/screen"): staff("ops.case.read"),
    ("GET", "/ops/centre/{code}/live"): staff("ops.case.read"),
    ("GET", "/ops/cases/{case_id}"): staff("ops.case.read"),
    ("POST", "/ops/cases/{case_id}/{action}"): CASE_STEPS,
    ("GET", "/ops/media/{media_id}"): staff("ops.case.read"),
    ("GET", "/ops/hotline"): staff("ops.case.report"),
    ("POST", "/ops/hotline"): staff("ops.case.report"),
    ("GET", "/ops/inspector"): staff("ops.case.verify"),
    ("POST", "/ops/inspector/report"): staff("ops.case.report", narrower=SOURCE),
    ("GET", "/ops/components/near"): staff("ops.case.report"),
    ("GET", "/ops/unit"): staff("ops.case.dispose", narrower="staff of a disposal unit only"),
}

#: Registered actions that no HTTP route guards, with where they are used instead.
NOT_ON_HTTP: dict[str, str] = {
    "ops.unit.capacity": "a unit's crews and shift, set by its district's or the city's operators through "
    "`onecity.ops.units.set_capacity` (no page or command yet: the simulation declares its units' crews)",
    "benefits.eligibility.scan": "the scan of the registries for proactive benefits runs from `onecity benefits scan`",
    "benefits.offer.make": "offers are made and withdrawn by `onecity benefits offer` and the life-event consumers",
    "hub.registry.person.read": "read by the services and documents parts through the registries' service functions",
    "hub.registry.legal_person.read": "read by the services part through the registries' service functions",
    "hub.registry.certificate.read": "read by the services and credentials parts",
    "hub.registry.certificate.issue": "issued by approvals in the services workflow",
    "hub.registry.certificate.revoke": "the command line (onecity registries …)",
    "hub.registry.export": "the command line (onecity registries export)",
    "hub.registry.load": "the command line (onecity registries load)",
    "hub.registry.seed": "the command line (onecity registries seed)",
    "hub.registry.person.register": "life events, from the command line and the simulation",
    "hub.registry.legal_person.register": "life events, from the command line and the simulation",
    "hub.registry.relation.record": "relations proven at issue time (services.issue) and the command line",
    "credentials.export": "the command line (onecity credentials export)",
    "ops.reporter.read": "ops.service.reports_of (reporters' names and numbers); no route calls it yet",
}


def import_all_parts() -> None:
    """Import every module of the package, so that every part has registered its actions.

    Parts register actions beside their service functions (``policy.register_actions``), and
    some are imported only by the command line (life events, exports): the table is complete
    only when all of them are loaded.
    """
    import importlib
    import pkgutil

    import onecity

    for info in pkgutil.walk_packages(onecity.__path__, "onecity."):
        if info.name.endswith("__main__") or ".migrations" in info.name:
            continue
        importlib.import_module(info.name)


def guard_for(method: str, path: str) -> Guard | None:
    return ROUTES.get((method.upper(), path))
