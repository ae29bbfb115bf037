"""How fast a point finds its grid, community, township and district (goal: 200,000 points a second).

Every located thing in the platform goes through this lookup: a 12345 report with a GPS fix,
a sensor reading, a citizen's Open311 request, a city component being placed by the seed.
``GeoIndex.lookup`` asks a shapely 2 ``STRtree`` over the 40,625 grids about a whole array of
points at once; ``locate`` adds the slicing of the grid code into the four division codes.

Points: uniform over the city's bounding box (about half fall outside the city: sea, Jiangsu,
Zhejiang, and those must come back empty fast too) and uniform over the city's own area.

Baselines, in the same run on a sample of the same points: the naive per-point loop with
shapely — one ``STRtree.query(point, predicate="within")`` call per point, what code that
handles one report at a time would do — and brute force, every grid tested for each point
(``contains_xy`` over all grids, vectorised over grids only). Both baselines' answers are
checked against the vectorised ones (``agree``). **Ratio** = vectorised rate / baseline rate.
Also measured: generating the geography, building the index, and drawing random points
inside divisions (what ``onecity seed`` does for millions of people and components).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

from bench._common import Stopwatch, emit, log, parser, rate, ratio

NAME = "geo_lookup"


def best_of(rounds: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Median seconds over ``rounds`` runs of ``fn``, and its last result."""
    times, result = [], None
    for _ in range(rounds):
        with Stopwatch() as sw:
            result = fn()
        times.append(sw.seconds)
    return statistics.median(times), result


def main() -> None:
    p = parser(__doc__ or NAME)
    p.add_argument("--points", type=int, default=2_000_000, help="points per vectorised lookup")
    p.add_argument("--sample", type=int, default=20_000, help="points for the per-point baseline")
    p.add_argument("--brute-sample", type=int, default=300, help="points for the brute-force baseline")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if args.quick:
        args.points, args.sample, args.brute_sample, args.rounds = 100_000, 2_000, 50, 1

    from onecity.synth.geography.generate import build_geography
    from onecity.synth.geography.load import index_of

    log("generating the geography…")
    with Stopwatch() as gen:
        geo = build_geography()
    log(f"  {len(geo.grids)} grids in {gen.seconds:.1f} s; building the index…")
    with Stopwatch() as build:
        index = index_of(geo)

    rng = np.random.default_rng(args.seed)
    minx, miny, maxx, maxy = geo.unit_lonlat[0].bounds
    box_lon = rng.uniform(minx, maxx, args.points)
    box_lat = rng.uniform(miny, maxy, args.points)
    with Stopwatch() as draw:
        inside_pts, _ = index.random_points_in("310000000000", args.points, rng)

    log(f"vectorised lookup of {args.points:,} points, {args.rounds} round(s)…")
    t_box, box_idx = best_of(args.rounds, lambda: index.lookup(box_lon, box_lat))
    t_in, _ = best_of(args.rounds, lambda: index.lookup(inside_pts[:, 0], inside_pts[:, 1]))
    t_loc, _ = best_of(args.rounds, lambda: index.locate(box_lon, box_lat))

    log(f"baseline: per-point STRtree loop over {args.sample:,} points…")
    sample = slice(0, args.sample)

    def per_point() -> list[int]:
        out = []
        for x, y in zip(box_lon[sample], box_lat[sample], strict=True):
            hits = index.tree.query(shapely.Point(x, y), predicate="within")
            out.append(int(hits.min()) if len(hits) else -1)
        return out

    t_loop, loop_idx = best_of(1, per_point)
    log(f"baseline: brute force over {args.brute_sample:,} points…")
    brute = slice(0, args.brute_sample)

    def brute_force() -> list[int]:
        out = []
        for x, y in zip(box_lon[brute], box_lat[brute], strict=True):
            hits = np.flatnonzero(shapely.contains_xy(index.shapes, x, y))
            out.append(int(hits[0]) if len(hits) else -1)
        return out

    t_brute, brute_idx = best_of(1, brute_force)
    agree_loop = bool(np.array_equal(np.asarray(loop_idx), box_idx[sample]))
    agree_brute = bool(np.array_equal(np.asarray(brute_idx), box_idx[brute]))

    lookup_rate = rate(args.points, t_box)
    figures = {
        "lookup_points_per_s": lookup_rate,
        "lookup_inside_points_per_s": rate(args.points, t_in),
        "locate_points_per_s": rate(args.points, t_loc),
        "inside_share": round(float((box_idx >= 0).mean()), 3),
        "random_points_per_s": rate(args.points, draw.seconds),
        "generate_s": round(gen.seconds, 2),
        "index_build_s": round(build.seconds, 2),
        "grids": len(index),
        "agree": agree_loop and agree_brute,
        "goal_points_per_s": 200_000,
        "meets_goal": lookup_rate >= 200_000,
    }
    baseline = {
        "per_point_loop_points_per_s": rate(args.sample, t_loop),
        "brute_force_points_per_s": rate(args.brute_sample, t_brute),
    }
    emit(
        NAME,
        {
            "points": args.points,
            "sample": args.sample,
            "brute_sample": args.brute_sample,
            "rounds": args.rounds,
            "seed": args.seed,
        },
        figures,
        baseline,
        {
            "vs_per_point_loop": ratio(lookup_rate, baseline["per_point_loop_points_per_s"]),
            "vs_brute_force": ratio(lookup_rate, baseline["brute_force_points_per_s"]),
        },
    )


if __name__ == "__main__":
    main()
