"""Urban operations (一网统管): every problem found in the city becomes one case, handled to closure.

What other parts call:

* :func:`onecity.ops.service.intake` — the one door for every source (Open311, the 12345
  hotline, grid inspectors, sensors, cameras, bad service ratings); it locates, deduplicates
  and opens or joins a case.
* :mod:`onecity.ops.taxonomy` — the GB/T 30428-style classification shipped as data.
* :func:`onecity.ops.units.install_units` — the disposal units dispatch sends cases to.
* :func:`onecity.ops.clocks.sweep` — reminders and escalation of overdue cases.
"""
