"""The proactive benefits part's manifest (免申即享): benefit policies as decision tables over the registries."""

from onecity.core.parts import NavItem, Part, PeriodicTask

PART = Part(
    name="benefits",
    package="onecity.benefits",
    models=("onecity.benefits.models",),
    pages=("onecity.benefits.pages", "onecity.benefits.offer_pages"),
    commands=("onecity.benefits.cli",),
    consumers=("onecity.benefits.consumers",),
    tasks=(PeriodicTask("benefits.birthdays", "onecity.benefits.consumers:run", every_seconds=600.0),),
    words="onecity.benefits.i18n",
    navigation=(
        NavItem("benefits.nav", "/benefits", None, order=79),
        NavItem("benefits.objections.nav", "/benefits/objections", "benefits.objection.list", order=84),
    ),
)
