"""``onecity geo``: the geography's figures, which grid a point lies in, which place an address stands for,
the base map's tiles.

The synthetic city's geography is written by ``onecity seed`` or, without the registries,
``onecity synth geography`` (:mod:`onecity.synth.cli`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from onecity.core.commands import opened
from onecity.core.config import Settings


def _out(text: str) -> None:
    """Command output goes to stdout (the lint rule against print is for library code)."""
    sys.stdout.write(text + "\n")


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.hub.geography.service import geography_stats

    with opened(settings) as db, db.sessions() as session:
        stats = geography_stats(session)
    if args.json:
        _out(json.dumps(stats, ensure_ascii=False))
    else:
        t = stats["townships"]
        _out(
            f"districts {stats['districts']}; townships {sum(t.values())} (subdistricts {t['subdistrict']}, "
            f"towns {t['town']}, townships {t['township']}); communities {stats['communities']}; "
            f"villages {stats['villages']}; grids {stats['grids']}; area {stats['area_km2']} km²"
        )
    return 0


def cmd_locate(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.hub.geography.index import grid_index

    with opened(settings) as db, db.sessions() as session:
        found = grid_index(session).locate_one(args.lon, args.lat)
    out: dict[str, Any] | None = found.__dict__ if found else None
    _out(json.dumps(out))
    return 0 if found else 1


def cmd_geocode(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.hub.geography.geocode import Geocoder

    with opened(settings) as db, db.sessions() as session:
        coder = Geocoder.from_session(session)
    best, _ = coder.place(args.address)
    matches = coder.geocode(args.address, limit=args.limit)
    if args.json:
        _out(json.dumps({"best": best.as_dict() if best else None, "suggestions": [m.as_dict() for m in matches]}))
    elif not matches:
        _out("no place found (is the gazetteer built? `onecity registry gazetteer`)")
    for m in [] if args.json else matches:
        mark = "*" if best is not None and m.record.id == best.record.id else " "
        _out(f"{mark} {m.score:5.1f} {m.precision:8} {m.label}  grid {m.record.grid_code}")
    return 0 if matches else 1


def cmd_reverse(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.hub.geography.geocode import Geocoder

    with opened(settings) as db, db.sessions() as session:
        found = Geocoder.from_session(session).reverse(args.lon, args.lat)
    if found is None:
        _out("null")
        return 1
    match, metres = found
    _out(json.dumps({"nearest": match.as_dict(), "distance_m": round(metres, 1)}, ensure_ascii=False))
    return 0


def cmd_addresses(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from onecity.core import audit
    from onecity.core.commands import cli_principal
    from onecity.hub.geography.gazetteer import load_address_file

    with opened(settings) as db, db.transaction() as session:
        n = load_address_file(session, Path(args.file))
        audit.record(
            session,
            cli_principal(),
            "hub.gazetteer.loaded",
            object_type="gazetteer",
            object_id=Path(args.file).name,
            detail={"entries": n},
        )
    _out(f"{n} address points loaded from {args.file}")
    return 0


def cmd_tiles(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from onecity.hub.geography.tiles import basemap, write_mbtiles

    t0 = time.perf_counter()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def progress(n: int, total: int) -> None:
        if n % 250 == 0 or n == total:
            sys.stderr.write(f"\rtiles {n}/{total}")
            if n == total:
                sys.stderr.write("\n")

    with opened(settings) as db:
        written = write_mbtiles(out, basemap(db), max_zoom=args.max_zoom, progress=None if args.json else progress)
    seconds = round(time.perf_counter() - t0, 1)
    if args.json:
        _out(json.dumps({"path": str(out), "tiles": written, "seconds": seconds}))
    else:
        _out(f"{written} tiles written to {out} in {seconds} s; serve them with ONECITY_BASEMAP_MBTILES={out}")
    return 0


def add_commands(sub: Any) -> None:
    geo = sub.add_parser("geo", help="the administrative geography").add_subparsers(dest="geo_command", required=True)
    stats = geo.add_parser("stats", help="count divisions, grids and outlines")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)
    loc = geo.add_parser("locate", help="the grid, community, township and district of a point (lon lat)")
    loc.add_argument("lon", type=float)
    loc.add_argument("lat", type=float)
    loc.set_defaults(func=cmd_locate)
    gc = geo.add_parser("geocode", help="the places an address may stand for, best first (typos and pinyin allowed)")
    gc.add_argument("address")
    gc.add_argument("--limit", type=int, default=8)
    gc.add_argument("--json", action="store_true")
    gc.set_defaults(func=cmd_geocode)
    rv = geo.add_parser("reverse", help="the nearest address in the gazetteer to a point (lon lat)")
    rv.add_argument("lon", type=float)
    rv.add_argument("lat", type=float)
    rv.set_defaults(func=cmd_reverse)
    ad = geo.add_parser("addresses", help="load surveyed address points (CSV: address,lon,lat) into the gazetteer")
    ad.add_argument("file")
    ad.set_defaults(func=cmd_addresses)
    tl = geo.add_parser("tiles", help="write the base map's vector tiles into an MBTiles file")
    tl.add_argument("--out", default="var/basemap.mbtiles", help="the MBTiles file (default var/basemap.mbtiles)")
    tl.add_argument("--max-zoom", type=int, default=14, choices=range(0, 15), metavar="0-14")
    tl.add_argument("--json", action="store_true")
    tl.set_defaults(func=cmd_tiles)
