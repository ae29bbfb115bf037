"""The synthetic city: everything a demo, a test or a benchmark needs and a real city never deploys.

A real deployment loads its own geography, registries and scans; this package makes up a
plausible Shanghai instead, from public statistics and a seed, so that every part can be
shown, tested and measured without personal data:

* :mod:`onecity.synth.corpus` — scanned documents (ID cards, licences, certificates) with
  their ground truth, genuine, degraded and forged, drawn from a seeded registry.

Production code never imports this package (an import contract in ``pyproject.toml`` says
so); the synthetic city reaches the platform through its manifest (:mod:`onecity.synth.part`):
its commands and its simulation actors.
"""
