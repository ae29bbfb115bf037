"""The road network: built by netconvert from the seed, the same bytes twice, every segment described."""

from __future__ import annotations

from pathlib import Path

from onecity.traffic.network import ROAD_CLASSES, Network, build_network
from onecity.traffic.simulation import choose_stations


def test_tiny_network_is_deterministic_and_described(tiny: Network, tiny_root: Path, tmp_path: Path) -> None:
    again = build_network("tiny", 1, tmp_path)
    assert again.net_file.read_bytes() == tiny.net_file.read_bytes()
    other = build_network("tiny", 2, tmp_path)
    assert other.net_file.read_bytes() != tiny.net_file.read_bytes()

    summary = tiny.summary()
    assert summary["segments"] > 100 and summary["signals"] > 10 and summary["km"] > 20
    names = {s.name for s in tiny.segments.values()}
    assert {"延安高架路", "南北高架路"} <= names  # the expressways crossing at People's Square
    for s in tiny.segments.values():
        assert s.road_class in ROAD_CLASSES
        assert s.lanes >= 1 and 20 <= s.speed_kmh <= 100 and s.length_m > 0
        assert s.district_code in {"310101000000", "310106000000", "310104000000", "310105000000"}
        assert len(s.coords) >= 2 and all(121.4 < lon < 121.6 and 31.1 < lat < 31.3 for lon, lat in s.coords)
    # divided roads: every expressway segment has its opposite carriageway
    express = [s for s in tiny.segments.values() if s.road_class == "expressway"]
    assert express and all(s.reverse in tiny.segments for s in express)
    stations = choose_stations(tiny)
    assert any(tiny.segments[st.edge_id].road_class == "expressway" for st in stations)
    assert any(tiny.segments[st.edge_id].signalised for st in stations)
