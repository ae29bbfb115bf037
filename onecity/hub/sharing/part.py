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
    # whom to tell about a person: their linked account (notifications read this; the core imports no part)
    accounts="onecity.hub.sharing.service:linked_account",
    navigation=(NavItem("nav.sharing", "/sharing", "hub.share.list", order=40),),
)
