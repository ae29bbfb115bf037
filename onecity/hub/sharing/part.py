"""The sharing part's manifest: requests, grants and the one door to registry records."""

from onecity.core.parts import NavItem, Part

PART = Part(
    name="sharing",
    package="onecity.hub.sharing",
    models=("onecity.hub.sharing.models",),
    api=("onecity.hub.sharing.api",),
    pages=("onecity.hub.sharing.pages",),
    commands=("onecity.hub.sharing.cli",),
    words="onecity.hub.sharing.i18n",
    navigation=(NavItem("nav.sharing", "/sharing", "hub.share.list", order=40),),
)
