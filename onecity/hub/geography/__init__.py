"""Administrative geography below the reference divisions: outlines, communities, villages, unit grids.

What other parts call:

* :func:`onecity.synth.geography.load.load_geography` ``(session) -> LoadResult`` — write the
  4,563 communities, 1,562 villages, every outline and the 40,625 grids into ``divisions``,
  ``division_shapes`` and ``grids``; idempotent, in the caller's transaction (``onecity seed``
  and ``onecity synth geography`` call it).
* :class:`onecity.hub.geography.index.GeoIndex` — vectorised point → grid → community →
  township → district lookup (``lookup``, ``locate``, ``locate_one``) and random points in a
  division (``random_points_in(code, n, rng)``, ``points_in_grids(indices, rng)``,
  ``grids_in(code)``). ``GeoIndex.from_session(session)`` builds it from the tables;
  :func:`onecity.hub.geography.index.default_index` from the generator (no database).
* :func:`onecity.hub.geography.index.random_points_in` ``(code, n, rng)`` — the same on the
  default index: ``(lonlat (n, 2), grid_codes (n,))``, spread evenly by area.
* :func:`onecity.synth.geography.generate.generate_geography` — the generated city itself
  (cached per process; :mod:`~onecity.synth.geography.generate` says what is real and what is not).
* :mod:`onecity.hub.geography.geocode` — which place an address stands for
  (``geocoder_for(session).geocode(text)`` suggestions, ``.place(text)`` the one sure answer) and
  what is at a point (``.reverse(lon, lat)``); :mod:`~onecity.hub.geography.gazetteer` builds its
  ``places`` from the divisions and the addresses the registries hand it (``docs/geography.md``).
* :mod:`onecity.hub.geography.service` — a division's detail with counts and children, its
  outline, the children's outlines for a map, the city's figures (``geography_stats``).
"""
