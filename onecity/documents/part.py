"""The documents part's manifest: reading uploaded scans (OCR) and checking them against the registries."""

from onecity.core.parts import Part

PART = Part(
    name="documents",
    package="onecity.documents",
    models=("onecity.documents.models",),
    api=("onecity.documents.api",),
    commands=("onecity.documents.cli",),
)
