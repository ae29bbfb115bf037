"""The example part's manifest: everything it adds to the platform, in one place."""

from onecity.core.parts import NavItem, Part, PeriodicTask

PART = Part(
    name="example",
    package="tests.core.example_part",
    models=("tests.core.example_part.models",),
    api=("tests.core.example_part.api",),
    pages=("tests.core.example_part.pages",),
    commands=("tests.core.example_part.cli",),
    consumers=("tests.core.example_part.consumers",),
    tasks=(PeriodicTask("example.tick", "tests.core.example_part.tasks:tick", every_seconds=0.1),),
    words="tests.core.example_part.i18n",
    navigation=(NavItem("example.nav", "/example", None, order=65),),
)
