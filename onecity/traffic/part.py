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
    # its roads on the hub's base map (the tiles read this module; the hub imports no part)
    roads="onecity.traffic.roads",
    navigation=(NavItem("traffic.nav", "/traffic", "traffic.read", order=55),),
)
