"""Administrative geography below the reference divisions: outlines, communities, villages, unit grids.

What other parts call:

* :func:`onecity.hub.geography.index.grid_index` ``(session or db) -> GeoIndex`` — the point
  index of the database's ``grids`` table, one per database, shared by everyone in the
  process and built before the server reports ready: vectorised point → grid → community →
  township → district lookup (``lookup``, ``locate``, ``locate_one``) and random points in a
  division (``random_points_in(code, n, rng)``, ``points_in_grids(indices, rng)``,
  ``grids_in(code)``).
* :mod:`onecity.hub.geography.geocode` — which place an address stands for
  (``geocoder_for(session).geocode(text)`` suggestions, ``.place(text)`` the one sure answer) and
  what is at a point (``.reverse(lon, lat)``); :mod:`~onecity.hub.geography.gazetteer` builds its
  ``places`` from the divisions and the addresses the registries hand it (``docs/geography.md``).
* :mod:`onecity.hub.geography.service` — a division's detail with counts and children, its
  outline, the children's outlines for a map, the city's figures (``geography_stats``).

The tables are filled by whoever deploys the city; the synthetic city's are generated and
loaded by :mod:`onecity.synth.geography` (``onecity synth geography``, ``onecity seed``).
"""
