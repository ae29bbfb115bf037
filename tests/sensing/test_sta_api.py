"""SensorThings API 1.1 over HTTP: entities, deep insert, links, the query language, dataArray, access."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from onecity.core.db import Database
from onecity.core.events import OutboxMessage
from onecity.hub.geography.index import grid_index
from tests.sensing.conftest import station

STA = "/sta/v1.1"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_deep_insert_links_and_place(client: Any, db: Database, sensing_key: str) -> None:
    h = auth(sensing_key)
    r = client.post(f"{STA}/Things", headers=h, json=station("外滩", "water_level", "m"))
    assert r.status_code == 201, r.text
    thing = r.json()
    assert r.headers["location"] == thing["@iot.selfLink"]
    assert thing["Datastreams@iot.navigationLink"].endswith(f"/Things({thing['@iot.id']})/Datastreams")
    # the place comes from the database's grids: the Bund lies in Huangpu
    where = grid_index(db).locate_one(121.4737, 31.2304)
    assert where is not None and where.district == "310101000000"
    assert thing["properties"]["onecity:grid"] == where.grid
    assert thing["properties"]["onecity:township"] == where.township
    locs = client.get(thing["Locations@iot.navigationLink"], headers=h).json()["value"]
    assert locs[0]["location"]["coordinates"] == [121.4737, 31.2304]
    hist = client.get(f"{STA}/Things({thing['@iot.id']})/HistoricalLocations?$expand=Locations", headers=h).json()
    assert hist["value"][0]["Locations"][0]["@iot.id"] == locs[0]["@iot.id"]
    ds = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams?$expand=Sensor,ObservedProperty", headers=h).json()[
        "value"
    ][0]
    assert ds["ObservedProperty"]["name"] == "water_level" and ds["Sensor"]["encodingType"] == "application/pdf"
    # a navigation path through a to-one link, and a property with $value
    assert (
        client.get(f"{STA}/Datastreams({ds['@iot.id']})/Thing/Locations", headers=h).json()["value"][0]["name"]
        == "外滩 site"
    )
    assert client.get(f"{STA}/Datastreams({ds['@iot.id']})/name/$value", headers=h).text == "外滩 water_level"
    root = client.get(f"{STA}", headers=h).json()
    assert {v["name"] for v in root["value"]} == {
        "Things",
        "Locations",
        "HistoricalLocations",
        "Datastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
        "FeaturesOfInterest",
    }


def test_update_and_delete(client: Any, sensing_key: str, make_station: Callable[..., tuple[int, int]]) -> None:
    h = auth(sensing_key)
    thing_id, ds_id = make_station("苏州河", "water_level")
    r = client.patch(f"{STA}/Things({thing_id})", headers=h, json={"name": "苏州河 1", "properties": {"k": 1}})
    assert r.status_code == 200 and r.json()["name"] == "苏州河 1"
    assert client.get(f"{STA}/Things?$filter=properties/k eq 1", headers=h).json()["value"][0]["@iot.id"] == thing_id
    r = client.patch(f"{STA}/Things({thing_id})", headers=h, json={"colour": "red"})
    assert r.status_code == 422 and "colour" in r.json()["detail"]
    assert client.delete(f"{STA}/Things({thing_id})", headers=h).status_code == 200
    assert client.get(f"{STA}/Things({thing_id})", headers=h).status_code == 404
    assert client.get(f"{STA}/Datastreams({ds_id})", headers=h).status_code == 404  # went with its Thing


def test_observations_filters_expand_and_paging(
    client: Any, sensing_key: str, make_station: Callable[..., tuple[int, int]]
) -> None:
    h = auth(sensing_key)
    _, rain = make_station("徐家汇", "rainfall", "mm", 121.437, 31.195)
    _, level = make_station("外滩", "water_level", "m")
    for i in range(12):
        r = client.post(
            f"{STA}/Datastreams({rain})/Observations",
            headers=h,
            json={"phenomenonTime": f"2026-07-01T{i:02d}:00:00Z", "result": i * 2.5},
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"{STA}/Observations",
        headers=h,
        json={
            "Datastream": {"@iot.id": level},
            "phenomenonTime": "2026-07-01T03:00:00Z",
            "result": 3.1,
            "FeatureOfInterest": {
                "name": "江面",
                "description": "river",
                "encodingType": "application/geo+json",
                "feature": {"type": "Point", "coordinates": [121.49, 31.24]},
            },
        },
    )
    assert r.status_code == 201, r.text

    def values(query: str) -> list[Any]:
        r = client.get(f"{STA}/{query}", headers=h)
        assert r.status_code == 200, r.text
        return [v.get("result") for v in r.json()["value"]]

    assert values("Observations?$filter=result gt 20 and result le 25&$orderby=result") == [22.5, 25]
    assert values(f"Datastreams({rain})/Observations?$filter=(result mul 2) sub 5 eq 10") == [7.5]
    assert values("Observations?$filter=not (result lt 25) or result eq 0&$orderby=result desc") == [27.5, 25, 0]
    assert values("Observations?$filter=hour(phenomenonTime) eq 3&$orderby=result") == [3.1, 7.5]
    assert values("Observations?$filter=phenomenonTime ge 2026-07-01T10:00:00Z&$orderby=phenomenonTime") == [25, 27.5]
    assert values("Observations?$filter=Datastream/ObservedProperty/name eq 'water_level'") == [3.1]
    assert values("Observations?$filter=startswith(Datastream/name, '徐家') and result ge 27") == [27.5]
    assert values(
        "Observations?$filter=st_within(FeatureOfInterest/feature, geography'POLYGON((121.48 31.23, "
        "121.5 31.23, 121.5 31.25, 121.48 31.25, 121.48 31.23))')"
    ) == [3.1]
    assert values(
        "Observations?$filter=geo.distance(FeatureOfInterest/feature, geography'POINT(121.49 31.24)') lt 0.001"
    ) == [3.1]
    assert [
        t["name"]
        for t in client.get(
            f"{STA}/Things?$filter=substringof('汇', name) and tolower(description) eq '徐家汇 station'", headers=h
        ).json()["value"]
    ] == ["徐家汇"]
    locs = client.get(
        f"{STA}/Locations?$filter=geo.intersects(location, geography'POLYGON((121.42 31.18, "
        "121.45 31.18, 121.45 31.21, 121.42 31.21, 121.42 31.18))')",
        headers=h,
    ).json()["value"]
    assert [x["name"] for x in locs] == ["徐家汇 site"]
    # paging: $top/$skip/$count and a nextLink that works
    page = client.get(
        f"{STA}/Datastreams({rain})/Observations?$top=5&$count=true&$orderby=phenomenonTime", headers=h
    ).json()
    assert page["@iot.count"] == 12 and len(page["value"]) == 5
    seen = [v["result"] for v in page["value"]]
    while "@iot.nextLink" in page:
        page = client.get(page["@iot.nextLink"], headers=h).json()
        seen += [v["result"] for v in page["value"]]
    assert seen == [i * 2.5 for i in range(12)]
    # $expand nested, with options, and $select
    things = (
        client.get(
            f"{STA}/Things?$select=name&$expand=Datastreams($select=name;$expand=Observations("
            "$filter=result ge 25;$orderby=result desc;$top=1;$select=result),ObservedProperty)"
            "&$orderby=name",
            headers=h,
        )
        .json()
        .get("value", "?")
    )
    assert isinstance(things, list), things
    xu = next(t for t in things if t["name"] == "徐家汇")
    assert set(xu) == {"name", "Datastreams"}
    assert xu["Datastreams"][0]["Observations"] == [{"result": 27.5}]
    assert xu["Datastreams"][0]["ObservedProperty"]["name"] == "rainfall"


def test_data_array_and_one_outbox_row_per_batch(
    client: Any, db: Database, sensing_key: str, make_station: Callable[..., tuple[int, int]]
) -> None:
    h = auth(sensing_key)
    _, ds = make_station("闵行", "rainfall", "mm", 121.38, 31.11)
    rows = [[f"2026-07-02T00:{i // 60:02d}:{i % 60:02d}Z", float(i)] for i in range(1500)]
    r = client.post(
        f"{STA}/CreateObservations",
        headers=h,
        json=[{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": rows}],
    )
    assert r.status_code == 201, r.text
    assert len(r.json()) == 1500 and r.json()[0].startswith("http")
    assert (
        client.get(f"{STA}/Datastreams({ds})/Observations?$count=true&$top=0", headers=h).json()["@iot.count"] == 1500
    )
    with db.sessions() as s:
        batches = list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "sensing.observations.stored"))
        )
    assert len(batches) == 1 and batches[0].payload["count"] == 1500
    bad = client.post(
        f"{STA}/CreateObservations",
        headers=h,
        json=[{"Datastream": {"@iot.id": ds}, "components": ["result"], "dataArray": [[1], ["x", 2]]}],
    )
    assert bad.status_code == 422 and "row 1" in bad.json()["detail"]
    # the common form is checked a column at a time; a wrong row there is still named
    late = [["2026-07-03T00:00:00Z", 1.0], ["2026-07-03T00:00:01Z", 2], ["yesterday", 3.0]]
    bad = client.post(
        f"{STA}/CreateObservations",
        headers=h,
        json=[{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": late}],
    )
    assert bad.status_code == 422 and "row 2" in bad.json()["detail"] and "yesterday" in bad.json()["detail"]
    # each self link names the row it was answered for (PostgreSQL: ids taken before the COPY)
    link = r.json()[1234].split("/sta/v1.1/", 1)[1]
    one = client.get(f"{STA}/{link}", headers=h).json()
    assert one["result"] == 1234.0 and one["phenomenonTime"].startswith("2026-07-02T00:20:34")
    # nothing of the refused request was stored
    assert (
        client.get(f"{STA}/Datastreams({ds})/Observations?$count=true&$top=0", headers=h).json()["@iot.count"] == 1500
    )


def test_data_array_columns_store_what_rows_store(
    client: Any, db: Database, sensing_key: str, make_station: Callable[..., tuple[int, int]]
) -> None:
    """The common form (stored a column at a time) leaves the rows, the streams' state and the
    events the row-by-row path leaves; a wrong group anywhere refuses the whole call."""
    from onecity.sensing.models import Datastream, Observation

    h = auth(sensing_key)
    _, cols = make_station("七宝", "water_level", "m", 121.35, 31.15)
    _, rows = make_station("莘庄", "water_level", "m", 121.38, 31.11)

    def post(ds: int, data: list[list[Any]], by_rows: bool) -> Any:
        # a resultQuality component (all null here) is not the common form: the call goes row by row
        comps = ["phenomenonTime", "result", "resultQuality"] if by_rows else ["result", "phenomenonTime"]
        array = [[t, v, None] if by_rows else [v, t] for t, v in data]
        return client.post(
            f"{STA}/CreateObservations",
            headers=h,
            json=[{"Datastream": {"@iot.id": ds}, "components": comps, "dataArray": array}],
        )

    # out of time order, a repeated instant, an integer result; then a call partly older than the newest
    first = [["2026-07-05T10:00:00Z", 1.0], ["2026-07-05T09:00:00+08:00", 2], ["2026-07-05T10:30:00.5Z", 3.5]]
    first += [["2026-07-05T10:30:00.5Z", 4.0], ["2026-07-05T08:00:00", 5.0]]
    second = [["2026-07-05T10:20:00Z", 6.0], ["2026-07-05T11:00:00Z", 7.0], ["2026-07-04T00:00:00Z", 8.0]]
    for data in (first, second, [["2026-07-04T12:00:00Z", 9.0]]):
        a, b = post(cols, data, False), post(rows, data, True)
        assert a.status_code == b.status_code == 201, (a.text, b.text)
        assert len(a.json()) == len(b.json()) == len(data)
        for link, (_, v) in zip(a.json(), data, strict=True):  # each link names its own row
            got = client.get(f"{STA}/{link.split('/sta/v1.1/', 1)[1]}", headers=h).json()
            assert got["result"] == v
    state = ("last_result", "last_time", "prev_result", "prev_time", "phenomenon_time_start", "phenomenon_time_end")
    with db.sessions() as s:
        a_ds, b_ds = s.get(Datastream, cols), s.get(Datastream, rows)
        assert a_ds is not None and b_ds is not None
        assert [getattr(a_ds, k) for k in state] == [getattr(b_ds, k) for k in state]
        assert a_ds.last_result == 7.0 and a_ds.prev_result == 4.0  # 6.0 came before the newest (10:30)
        stored = {
            ds: sorted(
                (o.phenomenon_time, o.result_number)
                for o in s.scalars(select(Observation).where(Observation.datastream_id == ds))
            )
            for ds in (cols, rows)
        }
        assert stored[cols] == stored[rows] and len(stored[cols]) == 9
        assert None not in s.scalars(
            select(Observation.feature_of_interest_id).where(Observation.datastream_id == cols)
        )
        events = list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.event_type == "sensing.observations.stored")
                .order_by(OutboxMessage.occurred_at, OutboxMessage.id)  # in the order the calls made them
            )
        )
    a_events = [e.payload for e in events if e.payload["observations"][0][1] == cols]
    b_events = [e.payload for e in events if e.payload["observations"][0][1] == rows]
    assert [list(e["previous"].values()) for e in a_events] == [list(e["previous"].values()) for e in b_events]
    assert [len(e["observations"]) for e in a_events] == [5, 3, 1]
    # a wrong group after good ones: nothing of the call is stored
    bad = client.post(
        f"{STA}/CreateObservations",
        headers=h,
        json=[
            {"Datastream": {"@iot.id": cols}, "components": ["phenomenonTime", "result"], "dataArray": second},
            {"Datastream": {"@iot.id": 10**9}, "components": ["phenomenonTime", "result"], "dataArray": second},
        ],
    )
    assert bad.status_code == 404 and str(10**9) in bad.json()["detail"]
    assert gc.isenabled()  # held off during the call only, a refused one too
    nan = client.post(
        f"{STA}/CreateObservations",
        headers=h,
        content=b'[{"Datastream": {"@iot.id": %d}, "components": ["phenomenonTime", "result"], '
        b'"dataArray": [["2026-07-06T00:00:00Z", NaN]]}]' % cols,
    )
    assert nan.status_code == 422 and "not valid JSON" in nan.json()["detail"]
    with db.sessions() as s:
        assert len(list(s.scalars(select(Observation.id).where(Observation.datastream_id == cols)))) == 9


def test_data_array_beyond_one_batch(
    client: Any, db: Database, sensing_key: str, make_station: Callable[..., tuple[int, int]]
) -> None:
    """A call larger than one store batch: one event per 5,000 readings, each carrying the streams'
    state before it (the second event's predecessor is the first's newest reading)."""
    h = auth(sensing_key)
    _, ds = make_station("金山", "water_level", "m", 121.34, 30.74)
    data = [
        [f"2026-07-0{1 + i // 86400}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z", float(i)]
        for i in range(6000)
    ]
    r = client.post(
        f"{STA}/CreateObservations",
        headers=h,
        json=[{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": data}],
    )
    assert r.status_code == 201 and len(r.json()) == 6000
    with db.sessions() as s:
        events = [
            e.payload
            for e in s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.event_type == "sensing.observations.stored")
                .order_by(OutboxMessage.id)
            )
        ]
    events = [e for e in events if e["observations"][0][1] == ds]
    assert [e["count"] for e in events] == [5000, 1000]
    assert events[0]["previous"] == {}
    assert events[1]["previous"][str(ds)][0] == 4999.0


def test_access_and_bad_input(client: Any, sensing_key: str, read_key: str) -> None:
    assert client.get(f"{STA}/Things").status_code == 401
    assert client.post(f"{STA}/Things", json={"name": "x"}).status_code == 401
    assert client.get(f"{STA}/Things", headers=auth(read_key)).status_code == 200
    r = client.post(f"{STA}/Things", headers=auth(read_key), json={"name": "x"})
    assert r.status_code == 403 and "sensing" in r.json()["detail"]
    import base64

    basic = {"Authorization": "Basic " + base64.b64encode(f"apikey:{sensing_key}".encode()).decode()}
    assert client.post(f"{STA}/Things", headers=basic, json={"name": "basic"}).status_code == 201
    h = auth(sensing_key)
    for query, fragment in [
        ("Things?$filter=name eq", "position"),
        ("Things?$filter=colour eq 1", "colour"),
        ("Things?$top=-1", "$top"),
        ("Things?$expand=Nothing", "Nothing"),
        ("Things?$foo=1", "$foo"),
        ("Observations?$filter=Datastream/Thing/Nope eq 1", "Nope"),
    ]:
        r = client.get(f"{STA}/{query}", headers=h)
        assert r.status_code in (400, 422), (query, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert fragment in r.json()["detail"], (query, r.json()["detail"])
    assert client.get(f"{STA}/Nowhere", headers=h).status_code == 404
    r = client.post(
        f"{STA}/Locations",
        headers=h,
        json={"name": "x", "description": "d", "location": {"type": "Point", "coordinates": [500, 1]}},
    )
    assert r.status_code == 422 and "range" in r.json()["detail"]
    r = client.post(
        f"{STA}/Datastreams", headers=h, json={"name": "x", "observationType": "t", "unitOfMeasurement": {}}
    )
    assert r.status_code == 422 and "Thing" in r.json()["detail"]


def test_expand_depth_and_response_size_are_bounded(
    client: Any, sensing_key: str, make_station: Callable[..., tuple[int, int]]
) -> None:
    """A 320-segment ``$expand`` path took 14 s and 18 MB; depth and entity count are now bounded."""
    h = auth(sensing_key)
    thing, ds = make_station("外滩", "water_level")
    long_path = "/".join(["Thing", "Datastreams"] * 160)
    for query in (
        f"$expand={long_path}",
        "$expand=Thing/Datastreams/Thing/Datastreams/Thing/Datastreams",  # six levels as a path
        "$expand=Thing($expand=Datastreams($expand=Thing($expand=Datastreams($expand=Thing($expand=Locations)))))",
        "$expand=Thing/Datastreams($expand=Thing/Datastreams($expand=Thing/Locations))",  # paths inside options
    ):
        r = client.get(f"{STA}/Datastreams({ds})?{query}", headers=h)
        assert r.status_code == 400, (query[:80], r.text[:300])
        assert r.headers["content-type"] == "application/problem+json"
        assert "at most 5 levels" in r.json()["detail"]
    # five levels are served
    r = client.get(f"{STA}/Datastreams({ds})?$expand=Thing/Datastreams/Thing/Datastreams/Thing", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["Thing"]["Datastreams"][0]["Thing"]["Datastreams"][0]["Thing"]["@iot.id"] == thing
    # a resource path is bounded too
    assert client.get(f"{STA}/Datastreams({ds})/Thing/Datastreams({ds})/Thing", headers=h).status_code == 200
    walk = f"Datastreams({ds})/" + "/".join([f"Thing/Datastreams({ds})"] * 10)
    r = client.get(f"{STA}/{walk}", headers=h)
    assert r.status_code == 400 and "segments" in r.json()["detail"]

    # the entities in one answer: 150 observations, each with its stream and the stream's 150 observations,
    # is 22,800
    client.post(
        f"{STA}/CreateObservations",
        headers=h,
        json=[
            {
                "Datastream": {"@iot.id": ds},
                "components": ["phenomenonTime", "result"],
                "dataArray": [[f"2026-06-01T{i // 60:02d}:{i % 60:02d}:00Z", i] for i in range(150)],
            }
        ],
    )
    ok = client.get(f"{STA}/Observations?$top=150&$expand=Datastream", headers=h)
    assert ok.status_code == 200 and len(ok.json()["value"]) == 150
    r = client.get(f"{STA}/Observations?$top=150&$expand=Datastream($expand=Observations($top=150))", headers=h)
    assert r.status_code == 400, r.text[:200]
    assert "more than 20,000 entities" in r.json()["detail"]
