"""``onecity geo``: the geography's figures, and which grid a point lies in.

The synthetic city's geography is written by ``onecity seed`` or, without the registries,
``onecity synth geography`` (:mod:`onecity.synth.cli`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from onecity.core.config import Settings
from onecity.core.db import Database


def _out(text: str) -> None:
    """Command output goes to stdout (the lint rule against print is for library code)."""
    sys.stdout.write(text + "\n")


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.hub.geography.service import geography_stats

    with Database(settings.database_url).sessions() as session:
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
    from onecity.hub.geography.index import GeoIndex

    with Database(settings.database_url).sessions() as session:
        found = GeoIndex.from_session(session).locate_one(args.lon, args.lat)
    out: dict[str, Any] | None = found.__dict__ if found else None
    _out(json.dumps(out))
    return 0 if found else 1


def add_commands(sub: Any) -> None:
    geo = sub.add_parser("geo", help="the administrative geography").add_subparsers(dest="geo_command", required=True)
    stats = geo.add_parser("stats", help="count divisions, grids and outlines")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)
    loc = geo.add_parser("locate", help="the grid, community, township and district of a point (lon lat)")
    loc.add_argument("lon", type=float)
    loc.add_argument("lat", type=float)
    loc.set_defaults(func=cmd_locate)
