"""The proactive benefits part's manifest (免申即享): benefit policies as decision tables over the registries."""

from onecity.core.parts import NavItem, Part

PART = Part(
    name="benefits",
    package="onecity.benefits",
    pages=("onecity.benefits.pages",),
    commands=("onecity.benefits.cli",),
    words="onecity.benefits.i18n",
    navigation=(NavItem("benefits.nav", "/benefits", None, order=79),),
)
