"""The traffic part's manifest: roads simulated with SUMO, sensed, indexed, forecast, controlled (交通运行)."""

from onecity.core.parts import NavItem, Part

PART = Part(
    name="traffic",
    package="onecity.traffic",
    models=("onecity.traffic.models",),
    api=("onecity.traffic.api",),
    pages=("onecity.traffic.pages",),
    commands=("onecity.traffic.cli",),
    words="onecity.traffic.i18n",
    navigation=(NavItem("traffic.nav", "/traffic", "traffic.read", order=55),),
)
