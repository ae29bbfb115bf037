"""Interoperability: Fraunhofer's frost_sta_client (PyPI) against a live OneCity server."""

from __future__ import annotations

from typing import Any

import frost_sta_client as fsc  # type: ignore[import-untyped]  # no stubs; the client is what this test exercises
import geojson  # type: ignore[import-untyped]  # no stubs; only builds a Point
import pytest

from onecity.core.db import Database
from tests.browser_support import live_server


@pytest.fixture
def backend() -> str:
    return "postgresql"  # one backend is enough for a client library; the API tests cover both


# the client library uses an API of furl that furl itself deprecates; not ours to fix
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_frost_client_round_trip(db: Database, sensing_key: str) -> None:
    with live_server(db, "frost") as base:
        service = fsc.SensorThingsService(
            f"{base}/sta/v1.1", auth_handler=fsc.AuthHandler(username="apikey", password=sensing_key)
        )
        location = fsc.Location(
            name="徐汇雨量站",
            description="rain gauge site",
            encoding_type="application/geo+json",
            location=geojson.Point((121.437, 31.195)),
        )
        thing = fsc.Thing(
            name="徐汇雨量站", description="rain gauge", properties={"network": "water"}, locations=[location]
        )
        service.create(thing)
        assert thing.id is not None
        sensor = fsc.Sensor(
            name="tipping bucket",
            description="rain sensor",
            encoding_type="application/pdf",
            metadata="https://example.org/rain.pdf",
        )
        prop = fsc.ObservedProperty(
            name="rainfall", definition="https://example.org/rainfall", description="rain in the last hour"
        )
        datastream = fsc.Datastream(
            name="徐汇 rainfall",
            description="hourly rain",
            observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            unit_of_measurement=fsc.UnitOfMeasurement(
                name="millimetre", symbol="mm", definition="http://unitsofmeasure.org/ucum.html#mm"
            ),
            thing=thing,
            sensor=sensor,
            observed_property=prop,
        )
        service.create(datastream)
        assert datastream.id is not None
        for hour, value in enumerate([0.0, 2.5, 31.0, 12.0]):
            service.create(
                fsc.Observation(result=value, phenomenon_time=f"2026-07-01T{hour:02d}:00:00Z", datastream=datastream)
            )
        # the dataArray extension through the client's own document type
        dav = fsc.DataArrayValue()
        dav.datastream = datastream
        dav.components = {fsc.DataArrayValue.Property.PHENOMENON_TIME, fsc.DataArrayValue.Property.RESULT}
        dav.add_observation(fsc.Observation(result=40.5, phenomenon_time="2026-07-01T04:00:00Z", datastream=datastream))
        doc = fsc.DataArrayDocument()
        doc.add_data_array_value(dav)
        created = service.observations().create(doc)
        assert len(created) == 1

        found = service.datastreams().find(datastream.id)
        assert found.name == "徐汇 rainfall"
        heavy = found.get_observations().query().filter("result gt 10").orderby("result", "ASC").list()
        assert [o.result for o in heavy] == [12.0, 31.0, 40.5]
        things: Any = (
            service.things()
            .query()
            .filter("name eq '徐汇雨量站'")
            .expand("Datastreams($expand=Observations($orderby=result desc;$top=1)),Locations")
            .list()
        )
        things = list(things)
        assert len(things) == 1
        ds = things[0].datastreams.entities[0]
        assert ds.observations.entities[0].result == 40.5
        assert things[0].locations.entities[0].location["coordinates"] == [121.437, 31.195]
