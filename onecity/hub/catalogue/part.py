"""The catalogue part's manifest: datasets and their fields, search and DCAT-AP export."""

from onecity.core.parts import NavItem, Part

PART = Part(
    name="catalogue",
    package="onecity.hub.catalogue",
    models=("onecity.hub.catalogue.models",),
    api=("onecity.hub.catalogue.api",),
    pages=("onecity.hub.catalogue.pages",),
    commands=("onecity.hub.catalogue.cli",),
    words="onecity.hub.catalogue.i18n",
    # catalogue metadata: every signed-in person
    navigation=(NavItem("nav.catalogue", "/catalogue", "core.me.read", order=30),),
)
