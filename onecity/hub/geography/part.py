"""The geography part's manifest: divisions and grids, their API and the division browser."""

from onecity.core.parts import NavItem, Part

PART = Part(
    name="geography",
    package="onecity.hub.geography",
    models=("onecity.hub.geography.models",),
    api=("onecity.hub.geography.api",),
    pages=("onecity.hub.geography.pages",),
    commands=("onecity.hub.geography.cli",),
    words="onecity.hub.geography.i18n",
    navigation=(NavItem("nav.divisions", "/divisions", "hub.geography.read", order=20),),
)
