"""Sensing fixtures: databases holding Xuhui's and Huangpu's grids (things are placed in them), a
sensing API key, and a Thing with a rain gauge and a water-level stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from onecity.core.db import Database
from onecity.core.identity import service
from tests.conftest import SYSTEM
from tests.grids import grids_db, grids_sqlite_template, pg_grids_url  # noqa: F401  (databases holding grids)

#: A point in 外滩街道 (Huangpu) on the generated geography, and its township.
BUND = (121.4737, 31.2304)


@pytest.fixture
def db(grids_db: Database) -> Database:  # noqa: F811  (the fixture, not the import)
    """Databases holding Xuhui's and Huangpu's grids (:mod:`tests.grids`): points are located in them."""
    return grids_db


@pytest.fixture
def sensing_key(db: Database) -> str:
    with db.transaction() as session:
        _, secret = service.create_api_key(session, SYSTEM, name="gauges", scopes=["sensing"])
    return secret


@pytest.fixture
def read_key(db: Database) -> str:
    with db.transaction() as session:
        _, secret = service.create_api_key(session, SYSTEM, name="reader", scopes=["read"])
    return secret


def station(name: str, prop: str, unit: str, lon: float = BUND[0], lat: float = BUND[1]) -> dict[str, Any]:
    """A Thing with its Location and one Datastream, as one deep insert."""
    return {
        "name": name,
        "description": f"{name} station",
        "Locations": [
            {
                "name": f"{name} site",
                "description": "site",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
        "Datastreams": [
            {
                "name": f"{name} {prop}",
                "description": prop,
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": unit, "symbol": unit, "definition": "http://unitsofmeasure.org"},
                "Sensor": {
                    "name": f"{prop} sensor",
                    "description": "s",
                    "encodingType": "application/pdf",
                    "metadata": "https://example.org/sensor.pdf",
                },
                "ObservedProperty": {"name": prop, "definition": f"https://example.org/{prop}", "description": prop},
            }
        ],
    }


@pytest.fixture
def make_station(client: Any, sensing_key: str) -> Callable[..., tuple[int, int]]:
    """Create a station over HTTP; returns (thing id, datastream id)."""

    def _make(name: str, prop: str, unit: str = "m", lon: float = BUND[0], lat: float = BUND[1]) -> tuple[int, int]:
        h = {"Authorization": f"Bearer {sensing_key}"}
        r = client.post("/sta/v1.1/Things", headers=h, json=station(name, prop, unit, lon, lat))
        assert r.status_code == 201, r.text
        thing_id = r.json()["@iot.id"]
        ds = client.get(f"/sta/v1.1/Things({thing_id})/Datastreams", headers=h).json()["value"][0]
        return thing_id, ds["@iot.id"]

    return _make


def judged(db: Database, timeout: float = 20.0) -> None:
    """Wait until the stream rules judged every stored batch: with a ``client`` the app's relay and
    consumers run in the background, and the ``sensing.rules`` consumer judges each batch after its
    commit (its inbox row is written with the alerts it raised)."""
    import time

    from sqlalchemy import func, select

    from onecity.core.events import OutboxMessage, ProcessedMessage
    from onecity.sensing.events import OBSERVATIONS_STORED

    deadline = time.monotonic() + timeout
    while True:
        with db.sessions() as s:
            waiting = s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.event_type == OBSERVATIONS_STORED.name,
                    ~select(ProcessedMessage.message_id)
                    .where(ProcessedMessage.consumer == "sensing.rules")
                    .where(ProcessedMessage.message_id == OutboxMessage.id)
                    .exists(),
                )
            )
        if not waiting:
            return
        assert time.monotonic() < deadline, f"{waiting} stored batches not judged by the rules in {timeout} s"
        time.sleep(0.02)
