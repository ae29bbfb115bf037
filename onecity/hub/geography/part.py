"""The geography part's manifest: divisions and grids, their API and the division browser."""

from onecity.core.parts import NavItem, Part, PeriodicTask

PART = Part(
    name="geography",
    package="onecity.hub.geography",
    models=("onecity.hub.geography.models",),
    api=("onecity.hub.geography.api",),
    pages=("onecity.hub.geography.pages",),
    commands=("onecity.hub.geography.cli",),
    # the point index of the grids, built before the server reports ready (operations, sensing, the API)
    # and the gazetteer the geocoder reads (the hotline's address search, Open311's address_string)
    startup=("onecity.hub.geography.index:warm", "onecity.hub.geography.geocode:warm"),
    words="onecity.hub.geography.i18n",
    # the base map's layers, read from the database at start and again when the geography changed
    tasks=(PeriodicTask("geography.basemap", "onecity.hub.geography.tiles:refresh", every_seconds=60.0),),
    navigation=(NavItem("nav.divisions", "/divisions", "hub.geography.read", order=20),),
)
