"""The traffic network's roads on the base map (the hub's tiles read this module through the manifest).

The base map belongs to the hub's geography, which sits below traffic and may not import it;
traffic's manifest names this module (:attr:`onecity.core.parts.Part.roads`) and the tiles
draw what :func:`lines` gives. A road's two directions are one line on a map: a segment
whose ends lie, reversed, within a few metres of one already drawn on the same road is left out.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.traffic.models import Segment, TrafficNetwork


def _latest(session: Session) -> TrafficNetwork | None:
    return session.scalar(select(TrafficNetwork).order_by(TrafficNetwork.loaded_at.desc()).limit(1))


def version(session: Session) -> tuple[str, int] | None:
    """The network the map shows (the one loaded last) and its size; None before any is loaded."""
    net = _latest(session)
    return None if net is None else (net.key, net.segments)


def lines(session: Session) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    """The latest network's roads as lon/lat centre lines, named in both languages, classed per GB/T 33171."""
    net = _latest(session)
    if net is None:
        return []
    out: list[tuple[BaseGeometry, dict[str, Any]]] = []
    # drawn lines by (road, cell of their midpoint): a segment whose ends lie within NEAR of a drawn
    # line's ends, reversed, is that road's other direction (SUMO offsets the two by a lane or so)
    drawn: dict[tuple[str, int, int], list[tuple[tuple[float, float], tuple[float, float]]]] = {}
    rows = session.execute(
        select(Segment.road, Segment.name, Segment.name_en, Segment.road_class, Segment.geometry)
        .where(Segment.network == net.key)
        .order_by(Segment.edge_id)
    )
    for road, name, name_en, road_class, coords in rows:
        if len(coords) < 2:
            continue
        a, b = (float(coords[0][0]), float(coords[0][1])), (float(coords[-1][0]), float(coords[-1][1]))
        cx, cy = int((a[0] + b[0]) / 2 / CELL), int((a[1] + b[1]) / 2 / CELL)
        near = (drawn.get((road, cx + i, cy + j), []) for i in (-1, 0, 1) for j in (-1, 0, 1))
        if any(_close(a, e[1]) and _close(b, e[0]) for cell in near for e in cell):
            continue
        drawn.setdefault((road, cx, cy), []).append((a, b))
        out.append((shapely.LineString(coords), {"name": name, "name_en": name_en or name, "kind": road_class}))
    return out


#: How far apart (degrees, about 30 m) the ends of a road's two directions may lie.
NEAR = 0.0003
#: The cells drawn lines are filed in by midpoint (degrees, about 300 m).
CELL = 0.003


def _close(p: tuple[float, float], q: tuple[float, float]) -> bool:
    return abs(p[0] - q[0]) <= NEAR and abs(p[1] - q[1]) <= NEAR
