"""The government services part's manifest (一网通办): items, cases, workflow, pre-review, ratings."""

from onecity.core.parts import NavItem, Part

PART = Part(
    name="services",
    package="onecity.services",
    models=("onecity.services.models",),
    api=("onecity.services.api",),
    pages=("onecity.services.pages", "onecity.services.staff_pages", "onecity.services.powers_pages"),
    commands=("onecity.services.cli",),
    consumers=("onecity.services.consumers",),
    words="onecity.services.i18n",
    navigation=(
        NavItem("services.nav.portal", "/services", None, order=80),
        NavItem("services.nav.counter", "/services/counter", "services.case.counter", order=81),
        NavItem("services.nav.work", "/services/work", "services.work.list", order=82),
        NavItem("services.nav.performance", "/services/performance", None, order=83),
    ),
)
