"""The sensing part's manifest: devices and observations (SensorThings, MQTT), rules and alerts."""

from onecity.core.parts import NavItem, Part, PeriodicTask

PART = Part(
    name="sensing",
    package="onecity.sensing",
    models=("onecity.sensing.models",),
    api=("onecity.sensing.api",),
    routes=("onecity.sensing.sta.routes",),  # /sta/v1.1: the OGC standard's own paths, beside /api/v1
    pages=("onecity.sensing.pages",),
    commands=("onecity.sensing.cli",),
    consumers=("onecity.sensing.consumers",),
    words="onecity.sensing.i18n",
    navigation=(NavItem("sensing.nav", "/sensing", "sensing.alert.list", order=60),),
    # PostgreSQL: the observations' weekly partitions made ahead, and retention (a no-op on SQLite)
    tasks=(PeriodicTask("sensing.partitions", "onecity.sensing.partitions:run", every_seconds=3600.0),),
)
