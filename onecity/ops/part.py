"""The urban operations part's manifest (一网统管): cases from every source, dispatch, clocks, evaluation."""

from onecity.core.parts import NavItem, Part, PeriodicTask

PART = Part(
    name="ops",
    package="onecity.ops",
    models=("onecity.ops.models",),
    api=("onecity.ops.api",),
    routes=("onecity.ops.open311",),  # /open311/v2: GeoReport v2's own paths
    pages=("onecity.ops.pages",),
    commands=("onecity.ops.cli",),
    consumers=("onecity.ops.consumers",),
    tasks=(
        # reminders and escalations every minute
        PeriodicTask("ops.clocks", "onecity.ops.clocks:run", every_seconds=60.0),
    ),
    words="onecity.ops.i18n",
    navigation=(NavItem("ops.nav", "/ops", "ops.case.read", order=50),),
)
