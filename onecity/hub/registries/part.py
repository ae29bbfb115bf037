"""The registries part's manifest: persons, legal persons, components and certificates, and their life events."""

from onecity.core.parts import Part

PART = Part(
    name="registries",
    package="onecity.hub.registries",
    models=("onecity.hub.registries.models",),
    commands=("onecity.hub.registries.cli",),
    words="onecity.hub.registries.i18n",
)
