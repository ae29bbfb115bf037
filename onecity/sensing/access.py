"""Who may change which SensorThings entities: the owner's area and agency.

Reads are open to every authenticated caller (readings describe the city, not people). Writes
are not: each Thing belongs to a division and an agency (``Thing.division_code``,
``Thing.agency_id``), set when it is made — its township, from its linked component or its
location, else its creator's division; its creator's agency — and moved with the Thing when
its place changes. A write to a Thing, to one of its Datastreams, HistoricalLocations or
Observations, to a Location it stands at, or to a Sensor, ObservedProperty or
FeatureOfInterest its streams use, is allowed to

* city-level staff and keys (their division is the municipality): they oversee every district;
* otherwise only when every Thing concerned lies in the principal's area (their division's
  prefix, or an access grant on ``sensing.thing``) and, when the Thing has an agency and the
  principal has one too, the agencies are the same — a district administrator excepted, who
  answers for every agency's devices in the district.

So a Pudong key or operator cannot PATCH, DELETE or post readings to Xuhui's devices, and a
Pudong key cannot put up a Thing standing in Xuhui. MQTT readings come in through the ingest
worker's own city-level principal: the broker's credentials are their boundary, not this.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select, union
from sqlalchemy.orm import Session

from onecity.core import policy
from onecity.core.divisions import scope_prefix
from onecity.core.errors import PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.sensing.models import (
    Datastream,
    FeatureOfInterest,
    HistoricalLocation,
    HistoricalLocationLocation,
    Observation,
    Thing,
    ThingLocation,
)

RESOURCE = "sensing.thing"


def city_level(principal: Principal) -> bool:
    return principal.division_code is not None and scope_prefix(principal.division_code) == policy.CITY


def things_of(es_name: str, entity_id: int) -> Select[Any] | None:
    """The ids of the Things a write to this entity changes (None: it concerns no Thing)."""
    if es_name == "Things":
        return select(Thing.id).where(Thing.id == entity_id)
    if es_name == "Datastreams":
        return select(Datastream.thing_id).where(Datastream.id == entity_id)
    if es_name == "Observations":
        return (
            select(Datastream.thing_id)
            .join(Observation, Observation.datastream_id == Datastream.id)
            .where(Observation.id == entity_id)
        )
    if es_name == "HistoricalLocations":
        return select(HistoricalLocation.thing_id).where(HistoricalLocation.id == entity_id)
    if es_name == "Locations":
        return select(
            union(
                select(ThingLocation.thing_id).where(ThingLocation.location_id == entity_id),
                select(HistoricalLocation.thing_id)
                .join(
                    HistoricalLocationLocation,
                    HistoricalLocationLocation.historical_location_id == HistoricalLocation.id,
                )
                .where(HistoricalLocationLocation.location_id == entity_id),
            ).subquery()
        )
    if es_name == "Sensors":
        return select(Datastream.thing_id).where(Datastream.sensor_id == entity_id)
    if es_name == "ObservedProperties":
        return select(Datastream.thing_id).where(Datastream.observed_property_id == entity_id)
    if es_name == "FeaturesOfInterest":
        streams = select(Observation.datastream_id).where(Observation.feature_of_interest_id == entity_id).distinct()
        return select(
            union(
                select(FeatureOfInterest.thing_id).where(
                    FeatureOfInterest.id == entity_id, FeatureOfInterest.thing_id.is_not(None)
                ),
                select(Datastream.thing_id).where(Datastream.id.in_(streams)),
            ).subquery()
        )
    return None


def _owners(session: Session, thing_ids: Any) -> list[tuple[int, str | None, str | None]]:
    rows = session.execute(
        select(Thing.id, Thing.division_code, Thing.agency_id).where(Thing.id.in_(thing_ids)).order_by(Thing.id)
    ).all()
    return [(int(r[0]), r[1], r[2]) for r in rows]


def require_things(session: Session, principal: Principal, thing_ids: Iterable[int] | Select[Any], what: str) -> None:
    """Refuse (403) unless the principal may change every one of these Things (see the module)."""
    if city_level(principal):
        return
    ids: Any = thing_ids if isinstance(thing_ids, Select) else sorted(set(thing_ids))
    if not isinstance(ids, Select) and not ids:
        return
    prefixes = policy.visible_prefixes(session, principal, RESOURCE)
    district_admin = principal.has_role(Role.ADMIN)
    for thing_id, division, agency in _owners(session, ids):
        if division is None or not any(division.startswith(p) for p in prefixes):
            raise PermissionDenied(
                f"{what} belongs to Thing {thing_id} of division {division or '(none: municipal)'}, outside your "
                f"area ({principal.division_code}); only its own district's staff and keys, or the city's, may "
                "change it"
            )
        if agency and principal.agency_id and agency != principal.agency_id and not district_admin:
            raise PermissionDenied(
                f"{what} belongs to Thing {thing_id}, which another agency put up; only that agency's staff and "
                "keys, the district's administrators or the city's may change it"
            )


def require_entity(session: Session, principal: Principal, es_name: str, entity_id: int, singular: str) -> None:
    """Refuse a write to one existing entity unless every Thing it concerns is the principal's."""
    if city_level(principal):
        return
    things = things_of(es_name, entity_id)
    if things is not None:
        require_things(session, principal, things, f"{singular} {entity_id}")


def claim(thing: Thing, principal: Principal) -> None:
    """A new Thing's owner: its township if it has one, else its creator's division; its creator's agency."""
    thing.division_code = thing.township_code or principal.division_code
    thing.agency_id = principal.agency_id
