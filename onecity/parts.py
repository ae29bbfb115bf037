"""The deployment's parts, in one list: the only place that names them all.

Each part declares what it contributes in its own ``part.py`` (:class:`onecity.core.parts.Part`);
the app factory, the ``onecity`` command, the migration environment and the simulation read
this list through :func:`onecity.core.parts.installed`. Adding a part means writing its
package and adding its ``PART`` here; nothing else names it.

Order matters in two places only: simulation actors step in this order within each tick
(a seeded run depends on it), and routers are mounted in it. The navigation bar has its own
order (:attr:`onecity.core.parts.NavItem.order`).
"""

from __future__ import annotations

from onecity.benefits.part import PART as BENEFITS
from onecity.core.bus.relay import TASK_NAME as RELAY_TASK
from onecity.core.parts import NavItem, Part, PeriodicTask
from onecity.credentials.part import PART as CREDENTIALS
from onecity.documents.part import PART as DOCUMENTS
from onecity.hub.catalogue.part import PART as CATALOGUE
from onecity.hub.geography.part import PART as GEOGRAPHY
from onecity.hub.registries.part import PART as REGISTRIES
from onecity.hub.sharing.part import PART as SHARING
from onecity.ops.part import PART as OPS
from onecity.sensing.part import PART as SENSING
from onecity.services.part import PART as SERVICES
from onecity.synth.part import PART as SYNTH
from onecity.traffic.part import PART as TRAFFIC

#: The platform itself: core's tables, sign-in, administration and the audit log, the home
#: page, the simulation command and the server's own tasks. It is listed like a part so that
#: every entry point reads one list, but it is no part: every part may use it.
PLATFORM = Part(
    name="platform",
    package="onecity",
    models=("onecity.core.models",),
    api=(
        "onecity.api.routes.system",
        "onecity.api.routes.auth",
        "onecity.api.routes.admin",
        "onecity.api.routes.audit",
    ),
    routes=("onecity.api.routes.docs",),
    pages=(
        "onecity.web.pages.home",
        "onecity.web.pages.prefs",
        "onecity.web.pages.account",
        "onecity.web.pages.password",
        "onecity.web.pages.register",
        "onecity.web.pages.users",
        "onecity.web.pages.audit",
        "onecity.web.pages.my_data",
        "onecity.web.pages.inbox",
    ),
    commands=("onecity.sim.cli",),
    consumers=("onecity.core.notify.consumers",),
    tasks=(
        # commits wake it; it polls for rows a process that died left behind
        PeriodicTask(RELAY_TASK, "onecity.core.bus.relay:run_relay"),
        PeriodicTask("housekeeping", "onecity.core.housekeeping:run", every_seconds=600.0),
        # chains the audit entries writers committed (group commit), once per deployment
        PeriodicTask("audit-sealer", "onecity.core.audit:run_sealer", every_seconds=0.5),
        # signs when ONECITY_AUDIT_CHECKPOINT_SECONDS have passed since the last checkpoint
        PeriodicTask("audit-checkpoints", "onecity.core.audit_checkpoints:run", every_seconds=60.0),
    ),
    words="onecity.web.i18n",
    navigation=(
        NavItem("nav.home", "/", None, order=0),
        NavItem("nav.users", "/admin/users", "core.user.list", order=10),
        NavItem("nav.my_data", "/me/data", "core.me.access_log", order=70),
        NavItem("nav.audit", "/audit", "core.audit.read", order=100),
    ),
)

#: Every part of the deployment, the platform first. The hub's parts come before the parts
#: built on them; actors step in this order (registries' life events, services, sensing,
#: operations, credentials, as the simulation has always run them).
PARTS: tuple[Part, ...] = (
    PLATFORM,
    CATALOGUE,
    SHARING,
    GEOGRAPHY,
    REGISTRIES,
    SERVICES,
    SENSING,
    OPS,
    CREDENTIALS,
    DOCUMENTS,
    TRAFFIC,
    BENEFITS,
    # the synthetic city (demos, tests, benchmarks): a real deployment may leave it out
    SYNTH,
)
