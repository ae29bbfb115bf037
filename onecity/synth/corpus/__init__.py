"""A generator of realistic scanned documents with ground truth, genuine, degraded and forged.

Start at :func:`generate` (or :class:`Generator` for one sample) with a :class:`Roster` loaded
from a seeded registry (:func:`load_roster`).
"""

from onecity.synth.corpus.generate import (
    CERT_TYPE,
    DOC_TYPES,
    FAMILIES,
    FIELDS,
    FORGERIES,
    CannotForge,
    Generator,
    Sample,
    generate,
    plan,
)
from onecity.synth.corpus.records import Roster, load_roster

__all__ = [
    "CERT_TYPE",
    "DOC_TYPES",
    "FAMILIES",
    "FIELDS",
    "FORGERIES",
    "CannotForge",
    "Generator",
    "Roster",
    "Sample",
    "generate",
    "load_roster",
    "plan",
]
