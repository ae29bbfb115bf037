"""The credentials part's manifest: signed electronic certificates, their status lists and the verifier."""

from onecity.core.parts import NavItem, Part

PART = Part(
    name="credentials",
    package="onecity.credentials",
    models=("onecity.credentials.models",),
    api=("onecity.credentials.api",),
    pages=("onecity.credentials.pages",),
    commands=("onecity.credentials.cli",),
    consumers=("onecity.credentials.consumers",),
    words="onecity.credentials.i18n",
    navigation=(NavItem("credentials.nav.verify", "/verify", None, order=90),),
)
