"""The proactive benefits part's manifest (免申即享): benefit policies as decision tables over the registries."""

from onecity.core.parts import Part

PART = Part(
    name="benefits",
    package="onecity.benefits",
    commands=("onecity.benefits.cli",),
    words="onecity.benefits.i18n",
)
