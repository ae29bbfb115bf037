"""The road network: Shanghai's expressways by name, generated arterial and local grids, built by netconvert.

What is real and what is made up:

* **Expressways** (快速路) follow the real roads' names and approximate alignment, drawn
  from a few dozen points each: the Inner, Middle and Outer Rings, the Yan'an and
  North–South Elevated roads, the Humin and Yixian Elevated roads, and the Huangpu crossings
  (Nanpu, Lupu, Yangpu and Xupu bridges; the Yan'an East Road, Dalian Road, Shangzhong Road,
  Xiangyin Road and Outer Ring tunnels). Each is a divided road, three lanes each way.
* **Arterial, secondary and local roads** are a jittered lattice generated from the seed,
  kept where it lies inside the city's district outlines (``onecity/data``, the same the
  hub's geography is built from) and never across the Huangpu except on a crossing above.
  Every lattice junction of three or more roads gets a traffic light (netconvert's static
  plan, 90 s cycle).

The network is written as SUMO plain XML and compiled by SUMO's own ``netconvert``; the
same area and seed give the same network, byte for byte. Beside ``net.net.xml`` lies
``segments.json``: each edge's road name (zh/en), GB/T 33171 road class, lanes, free-flow
speed, length, district and its polyline in WGS 84, which the platform stores and serves.

Areas: ``tiny`` (a few blocks round People's Square, for tests), ``central`` (inside the
Inner Ring, with both banks of the Huangpu) and ``city`` (everything, a coarser lattice).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

#: Origin of the local plane (metres east and north of People's Square).
LON0, LAT0 = 121.4737, 31.2304
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))

#: GB/T 33171 road classes, from fastest to slowest.
EXPRESSWAY, ARTERIAL, SECONDARY, LOCAL = "expressway", "arterial", "secondary", "local"
ROAD_CLASSES = (EXPRESSWAY, ARTERIAL, SECONDARY, LOCAL)


def to_xy(lon: float, lat: float) -> tuple[float, float]:
    return (lon - LON0) * M_PER_DEG_LON, (lat - LAT0) * M_PER_DEG_LAT


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    return LON0 + x / M_PER_DEG_LON, LAT0 + y / M_PER_DEG_LAT


@dataclass(frozen=True)
class Road:
    key: str
    name: str
    name_en: str
    points: tuple[tuple[float, float], ...]  # lon, lat
    speed_kmh: float = 80.0
    lanes: int = 3
    loop: bool = False
    #: (point index, name, name_en): the stretch from this point to the next is a bridge or tunnel
    crossings: tuple[tuple[int, str, str], ...] = ()


def _expressways() -> tuple[Road, ...]:
    """The expressway skeleton (approximate alignments, WGS 84), from ``traffic/data/expressways.json``."""
    raw = json.loads(resources.files("onecity.traffic").joinpath("data/expressways.json").read_bytes())
    return tuple(
        Road(
            r["key"],
            r["name"],
            r["name_en"],
            tuple((lon, lat) for lon, lat in r["points"]),
            speed_kmh=r.get("speed_kmh", 80.0),
            lanes=r.get("lanes", 3),
            loop=r.get("loop", False),
            crossings=tuple((i, name, name_en) for i, name, name_en in r.get("crossings", ())),
        )
        for r in raw["roads"]
    )


EXPRESSWAYS = _expressways()

#: District pairs the Huangpu separates: no lattice road joins them (only the crossings do).
RIVER_PAIRS = frozenset(
    frozenset(p)
    for p in (
        ("310115", "310101"),
        ("310115", "310109"),
        ("310115", "310110"),
        ("310115", "310104"),
        ("310115", "310113"),
        ("310115", "310112"),
        ("310112", "310120"),
        ("310117", "310120"),
        ("310151", "310113"),
        ("310151", "310115"),
    )
)


@dataclass(frozen=True)
class Area:
    key: str
    #: lon_min, lat_min, lon_max, lat_max; None: the whole city
    bbox: tuple[float, float, float, float] | None
    spacing_m: float
    #: resample expressways every this many metres (a junction, possibly a ramp, at each)
    express_step_m: float


AREAS = {
    "tiny": Area("tiny", (121.455, 31.218, 121.490, 31.244), 450.0, 700.0),
    "central": Area("central", (121.415, 31.180, 121.560, 31.275), 420.0, 800.0),
    "city": Area("city", None, 1600.0, 1600.0),
}


@dataclass
class Segment:
    """One directed SUMO edge and what the platform knows about it."""

    id: str
    road: str
    name: str
    name_en: str
    road_class: str
    lanes: int
    speed_kmh: float
    length_m: float
    district_code: str
    coords: list[tuple[float, float]]  # lon, lat
    from_node: str
    to_node: str
    #: the opposite direction's edge, if any
    reverse: str | None = None
    signalised: bool = False  # ends at a traffic light


@dataclass
class Network:
    area: str
    seed: int
    directory: Path
    segments: dict[str, Segment]
    signals: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def net_file(self) -> Path:
        return self.directory / "net.net.xml"

    @property
    def km(self) -> float:
        return sum(s.length_m for s in self.segments.values()) / 1000.0

    def summary(self) -> dict[str, Any]:
        by_class: dict[str, float] = {}
        for s in self.segments.values():
            by_class[s.road_class] = by_class.get(s.road_class, 0.0) + s.length_m / 1000.0
        return {
            "area": self.area,
            "seed": self.seed,
            "segments": len(self.segments),
            "km": round(self.km, 1),
            "km_by_class": {k: round(v, 1) for k, v in sorted(by_class.items())},
            "signals": len(self.signals),
        }


# -- districts ----------------------------------------------------------------------------------


class Districts:
    """The city's district outlines (GB/T 2260 codes), for clipping the lattice and dividing segments."""

    def __init__(self) -> None:
        raw = json.loads(resources.files("onecity.data").joinpath("shanghai-districts.geojson").read_bytes())
        self.codes: list[str] = []
        shapes = []
        for f in sorted(raw["features"], key=lambda f: f["properties"]["gb"]):
            self.codes.append(f["properties"]["gb"][3:] + "000000")
            shapes.append(shapely.make_valid(shapely.from_geojson(json.dumps(f["geometry"]))))
        self.shapes = np.asarray(shapes, dtype=object)
        self.tree = shapely.STRtree(self.shapes)

    def of(self, lon: Sequence[float], lat: Sequence[float]) -> list[str]:
        """The district code of each point, "" outside every outline."""
        pts = np.asarray(shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)), dtype=object)
        out = [""] * len(pts)
        pi, si = self.tree.query(pts, predicate="intersects")
        for p, s in zip(pi.tolist(), si.tolist(), strict=True):
            if not out[p]:
                out[p] = self.codes[s]
        return out

    def nearest(self, lon: float, lat: float) -> str:
        i = int(self.tree.nearest(Point(lon, lat)))
        return self.codes[i]


# -- building -----------------------------------------------------------------------------------


def default_root() -> Path:
    return Path(os.environ.get("ONECITY_TRAFFIC_DIR") or (Path.cwd() / "var" / "traffic"))


def network_dir(area: str, seed: int, root: Path | None = None) -> Path:
    return (root or default_root()) / f"{area}-{seed}"


def _resample(points: list[tuple[float, float]], step: float) -> list[tuple[float, float, int]]:
    """Points every ``step`` metres along a polyline (in the plane), each with its source stretch."""
    out: list[tuple[float, float, int]] = []
    for k in range(len(points) - 1):
        (x0, y0), (x1, y1) = points[k], points[k + 1]
        d = math.hypot(x1 - x0, y1 - y0)
        n = max(1, round(d / step))
        for i in range(n):
            t = i / n
            out.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0), k))
    out.append((*points[-1], len(points) - 1))
    return out


@dataclass
class _Plan:
    nodes: dict[str, tuple[float, float, str]] = field(default_factory=dict)  # id -> x, y, type
    edges: list[dict[str, Any]] = field(default_factory=list)


def _in_bbox(area: Area, lon: float, lat: float, margin: float = 0.0) -> bool:
    if area.bbox is None:
        return True
    a, b, c, d = area.bbox
    return a - margin <= lon <= c + margin and b - margin <= lat <= d + margin


def plan_network(area: Area, seed: int, districts: Districts) -> tuple[_Plan, dict[str, dict[str, Any]]]:
    """Nodes and edges in the plane, with each edge's attributes (before netconvert)."""
    rng = np.random.default_rng(seed)
    plan = _Plan()
    attrs: dict[str, dict[str, Any]] = {}

    def add_edge(
        eid: str, a: str, b: str, *, road: str, name: str, name_en: str, cls: str, lanes: int, speed: float
    ) -> None:
        plan.edges.append({"id": eid, "from": a, "to": b, "numLanes": lanes, "speed": round(speed / 3.6, 2)})
        attrs[eid] = {"road": road, "name": name, "name_en": name_en, "road_class": cls, "lanes": lanes}

    # lattice
    s = area.spacing_m
    if area.bbox is None:
        x0, y0 = to_xy(121.10, 30.70)
        x1, y1 = to_xy(121.95, 31.52)
    else:
        x0, y0 = to_xy(area.bbox[0], area.bbox[1])
        x1, y1 = to_xy(area.bbox[2], area.bbox[3])
    nx, ny = int((x1 - x0) // s) + 1, int((y1 - y0) // s) + 1
    gx = x0 + np.arange(nx) * s
    gy = y0 + np.arange(ny) * s
    xx, yy = np.meshgrid(gx, gy, indexing="ij")
    jitter = rng.normal(0.0, 0.08 * s, size=(nx, ny, 2))
    xx, yy = xx + jitter[..., 0], yy + jitter[..., 1]
    lon = LON0 + xx / M_PER_DEG_LON
    lat = LAT0 + yy / M_PER_DEG_LAT
    dist = np.asarray(districts.of(lon.ravel().tolist(), lat.ravel().tolist())).reshape(nx, ny)
    outer = Polygon([to_xy(*p) for p in EXPRESSWAYS[2].points])
    keep = dist != ""
    keep &= dist != "310151000000"  # Chongming: an island the skeleton does not reach
    if area.bbox is None:
        inside = shapely.contains_xy(outer, xx, yy)
        ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        keep &= inside | ((ii % 2 == 0) & (jj % 2 == 0))  # outside the Outer Ring, every other line
    lattice_id = {}
    for i in range(nx):
        for j in range(ny):
            if keep[i, j]:
                nid = f"n{i}_{j}"
                lattice_id[(i, j)] = nid
                plan.nodes[nid] = (float(xx[i, j]), float(yy[i, j]), "priority")

    def line_class(k: int) -> tuple[str, int, float, str, str]:
        if area.bbox is None:
            return (ARTERIAL, 2, 60.0, "主干路", "arterial") if k % 2 == 0 else (SECONDARY, 2, 50.0, "次干路", "street")
        if k % 4 == 0:
            return ARTERIAL, 3, 50.0, "主干路", "arterial"
        if k % 2 == 0:
            return SECONDARY, 2, 40.0, "次干路", "street"
        return LOCAL, 1, 30.0, "支路", "lane"

    degree: dict[str, int] = {}
    for axis in (0, 1):
        lines = nx if axis == 1 else ny
        along = ny if axis == 1 else nx
        for k in range(lines):
            cls, lanes, speed, zh, en = line_class(k)
            prev: tuple[int, int] | None = None
            for m in range(along):
                ij = (k, m) if axis == 1 else (m, k)
                if ij not in lattice_id:
                    continue
                if prev is not None and (ij[0] - prev[0]) + (ij[1] - prev[1]) <= 2:
                    da, db = dist[prev], dist[ij]
                    if frozenset((da[:6], db[:6])) not in RIVER_PAIRS:
                        a, b = lattice_id[prev], lattice_id[ij]
                        tag = "v" if axis == 1 else "h"
                        name = f"{'纵' if axis == 1 else '横'}{k + 1}{zh}"
                        name_en = f"{'NS' if axis == 1 else 'EW'} {en} {k + 1}"
                        base = f"{tag}{k}_{m}"
                        add_edge(
                            base, a, b, road=f"{tag}{k}", name=name, name_en=name_en, cls=cls, lanes=lanes, speed=speed
                        )
                        add_edge(
                            "-" + base,
                            b,
                            a,
                            road=f"{tag}{k}",
                            name=name,
                            name_en=name_en,
                            cls=cls,
                            lanes=lanes,
                            speed=speed,
                        )
                        degree[a] = degree.get(a, 0) + 1
                        degree[b] = degree.get(b, 0) + 1
                prev = ij
    for nid, d in degree.items():
        if d >= 3:
            x, y, _ = plan.nodes[nid]
            plan.nodes[nid] = (x, y, "traffic_light")
    used = set(degree)
    for nid in [n for n in plan.nodes if n not in used]:
        del plan.nodes[nid]

    # expressways
    lattice_nodes = [(nid, x, y) for nid, (x, y, _t) in plan.nodes.items()]
    lattice_xy = np.asarray([(x, y) for _n, x, y in lattice_nodes]) if lattice_nodes else np.zeros((0, 2))
    express_nodes: list[tuple[str, str, float, float]] = []
    margin = 0.004
    for road in EXPRESSWAYS:
        pts_xy = [to_xy(*p) for p in road.points]
        if road.loop:
            pts_xy.append(pts_xy[0])
        samples = _resample(pts_xy, area.express_step_m)
        if road.loop:
            samples = samples[:-1]
        crossing = {k: (n, e) for k, n, e in road.crossings}
        run: list[tuple[str, float, float, int]] = []
        runs: list[list[tuple[str, float, float, int]]] = []
        for idx, (x, y, k) in enumerate(samples):
            lo, la = to_lonlat(x, y)
            if _in_bbox(area, lo, la, margin):
                nid = f"x{road.key}{idx}"
                run.append((nid, x, y, k))
            else:
                if len(run) > 1:
                    runs.append(run)
                run = []
        closed = road.loop and len(run) == len(samples)
        if len(run) > 1:
            runs.append(run)
        for run in runs:
            for nid, x, y, _k in run:
                plan.nodes[nid] = (x, y, "priority")
                express_nodes.append((road.key, nid, x, y))
            pairs = list(zip(run, run[1:], strict=False))
            if closed:
                pairs.append((run[-1], run[0]))
            for (a, _ax, _ay, k), (b, _bx, _by, _k2) in pairs:
                name, name_en = crossing.get(k, (road.name, road.name_en))
                speed = min(road.speed_kmh, 80.0) if k in crossing else road.speed_kmh
                add_edge(
                    f"{a}",
                    a,
                    b,
                    road=road.key,
                    name=name,
                    name_en=name_en,
                    cls=EXPRESSWAY,
                    lanes=road.lanes,
                    speed=speed,
                )
                add_edge(
                    f"-{a}",
                    b,
                    a,
                    road=road.key,
                    name=name,
                    name_en=name_en,
                    cls=EXPRESSWAY,
                    lanes=road.lanes,
                    speed=speed,
                )
    # ramps: every other expressway junction to the nearest lattice junction; and between expressways
    ramp_reach = max(0.75 * area.spacing_m, 400.0)
    for n, (road_key, nid, x, y) in enumerate(express_nodes):
        if n % 2 or not len(lattice_xy):
            continue
        dist_m = np.hypot(lattice_xy[:, 0] - x, lattice_xy[:, 1] - y)
        j = int(np.argmin(dist_m))
        if dist_m[j] <= ramp_reach:
            target = lattice_nodes[j][0]
            road = next(r for r in EXPRESSWAYS if r.key == road_key)
            for eid, a, b in ((f"r{nid}on", target, nid), (f"r{nid}off", nid, target)):
                add_edge(
                    eid,
                    a,
                    b,
                    road=f"ramp-{road_key}",
                    name=f"{road.name}匝道",
                    name_en=f"{road.name_en} ramp",
                    cls=SECONDARY,
                    lanes=1,
                    speed=40.0,
                )
    by_road: dict[str, list[tuple[str, float, float]]] = {}
    for road_key, nid, x, y in express_nodes:
        by_road.setdefault(road_key, []).append((nid, x, y))
    linked: set[frozenset[str]] = set()
    keys = sorted(by_road)
    for ai, ka in enumerate(keys):
        for kb in keys[ai + 1 :]:
            best: tuple[float, str, str] | None = None
            for na, xa, ya in by_road[ka]:
                for nb, xb, yb in by_road[kb]:
                    gap = math.hypot(xa - xb, ya - yb)
                    if gap < 0.6 * area.express_step_m and (best is None or gap < best[0]):
                        best = (gap, na, nb)
            if best is not None and frozenset(best[1:]) not in linked:
                linked.add(frozenset(best[1:]))
                for eid, a, b in (
                    (f"i{best[1]}_{best[2]}", best[1], best[2]),
                    (f"i{best[2]}_{best[1]}", best[2], best[1]),
                ):
                    add_edge(
                        eid,
                        a,
                        b,
                        road="interchange",
                        name="立交",
                        name_en="interchange",
                        cls=SECONDARY,
                        lanes=1,
                        speed=50.0,
                    )
    return plan, attrs


def _write_plain(plan: _Plan, directory: Path) -> tuple[Path, Path]:
    nod, edg = directory / "plain.nod.xml", directory / "plain.edg.xml"
    with nod.open("w", encoding="utf-8") as fh:
        fh.write("<nodes>\n")
        for nid, (x, y, t) in sorted(plan.nodes.items()):
            fh.write(f'  <node id={quoteattr(nid)} x="{x:.2f}" y="{y:.2f}" type="{t}"/>\n')
        fh.write("</nodes>\n")
    with edg.open("w", encoding="utf-8") as fh:
        fh.write("<edges>\n")
        for e in sorted(plan.edges, key=lambda e: str(e["id"])):
            fh.write(
                f"  <edge id={quoteattr(e['id'])} from={quoteattr(e['from'])} to={quoteattr(e['to'])} "
                f'numLanes="{e["numLanes"]}" speed="{e["speed"]}"/>\n'
            )
        fh.write("</edges>\n")
    return nod, edg


def sumo_binary(name: str) -> str:
    """A SUMO tool from the installed ``eclipse-sumo`` wheel (or the PATH)."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found:
        return found
    try:
        import sumo

        return str(Path(sumo.SUMO_HOME) / "bin" / name)
    except ImportError as err:  # pragma: no cover - the dependency is declared
        raise RuntimeError(f"SUMO's {name} is not installed: pip install eclipse-sumo") from err


def build_network(area_key: str = "central", seed: int = 1, root: Path | None = None) -> Network:
    """Plan the network, compile it with netconvert and write its segment table beside it."""
    area = AREAS.get(area_key)
    if area is None:
        raise ValueError(f"unknown area {area_key!r}; one of {sorted(AREAS)}")
    directory = network_dir(area_key, seed, root)
    directory.mkdir(parents=True, exist_ok=True)
    districts = Districts()
    plan, attrs = plan_network(area, seed, districts)
    nod, edg = _write_plain(plan, directory)
    net = directory / "net.net.xml"
    cmd = [
        sumo_binary("netconvert"),
        "--node-files", str(nod),
        "--edge-files", str(edg),
        "--output-file", str(net),
        "--offset.disable-normalization", "true",
        "--tls.default-type", "static",
        "--tls.cycle.time", "90",
        "--keep-edges.components", "1",
        "--junctions.corner-detail", "0",
        "--no-warnings", "true",
        "--seed", str(seed),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"netconvert failed: {done.stderr.strip()[-2000:]}")
    _strip_header(net)
    segments, signals = _read_net(net, attrs, districts)
    network = Network(area_key, seed, directory, segments, signals)
    network.meta = network.summary()
    (directory / "segments.json").write_text(
        json.dumps(
            {"meta": network.meta, "signals": signals, "segments": [asdict(s) for s in segments.values()]},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        encoding="utf-8",
    )
    return network


def _strip_header(net: Path) -> None:
    """Drop netconvert's header comment (the date and the input files' paths): same seed, same bytes."""
    text = net.read_text(encoding="utf-8")
    start = text.find("<!--")
    end = text.find("-->", start)
    if 0 <= start < text.find("<net") and end > start:
        text = text[:start] + text[end + 3 :].lstrip("\n")
    net.write_text(text, encoding="utf-8")


def _read_net(
    net: Path, attrs: dict[str, dict[str, Any]], districts: Districts
) -> tuple[dict[str, Segment], list[str]]:
    import sumolib

    n = sumolib.net.readNet(str(net))
    signals = sorted(t.getID() for t in n.getTrafficLights())
    tl_nodes = {node.getID() for node in n.getNodes() if node.getType() == "traffic_light"}
    rows: list[tuple[str, list[tuple[float, float]], Any]] = []
    for e in n.getEdges():
        if e.getFunction() == "internal":
            continue
        coords = [to_lonlat(x, y) for x, y in e.getShape()]
        rows.append((e.getID(), coords, e))
    mids = [LineString(c).interpolate(0.5, normalized=True) for _i, c, _e in rows]
    codes = districts.of([p.x for p in mids], [p.y for p in mids])
    segments: dict[str, Segment] = {}
    for (eid, coords, e), code, mid in zip(rows, codes, mids, strict=True):
        a = attrs.get(eid, {})
        segments[eid] = Segment(
            id=eid,
            road=a.get("road", "?"),
            name=a.get("name", eid),
            name_en=a.get("name_en", eid),
            road_class=a.get("road_class", LOCAL),
            lanes=e.getLaneNumber(),
            speed_kmh=round(e.getSpeed() * 3.6, 1),
            length_m=round(e.getLength(), 1),
            district_code=code or districts.nearest(mid.x, mid.y),
            coords=[(round(x, 6), round(y, 6)) for x, y in coords],
            from_node=e.getFromNode().getID(),
            to_node=e.getToNode().getID(),
            signalised=e.getToNode().getID() in tl_nodes,
        )
    for sid, seg in segments.items():
        rev = sid[1:] if sid.startswith("-") else "-" + sid
        if rev in segments:
            seg.reverse = rev
    return segments, signals


def load_network(area_key: str = "central", seed: int = 1, root: Path | None = None, *, build: bool = True) -> Network:
    """The network of this area and seed: read from its directory, built first if missing."""
    directory = network_dir(area_key, seed, root)
    table = directory / "segments.json"
    if not table.exists() or not (directory / "net.net.xml").exists():
        if not build:
            raise FileNotFoundError(f"no {area_key} network for seed {seed}: run `onecity traffic build-network`")
        return build_network(area_key, seed, root)
    raw = json.loads(table.read_text(encoding="utf-8"))
    segments = {}
    for s in raw["segments"]:
        s["coords"] = [tuple(c) for c in s["coords"]]
        segments[s["id"]] = Segment(**s)
    return Network(area_key, seed, directory, segments, list(raw["signals"]), raw["meta"])
