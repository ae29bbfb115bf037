"""The synthetic city's manifest: the commands that make up a city, and how its people behave.

Its actors are each part's simulated users (residents applying for services, reports
reaching the hotline, sensors reading, officers deciding), in the order they step within a
tick: a seeded run depends on it.
"""

from onecity.core.parts import Part

PART = Part(
    name="synth",
    package="onecity.synth",
    commands=("onecity.synth.cli",),
    actors=(
        "onecity.synth.actors.registries",
        "onecity.synth.actors.services",
        "onecity.synth.actors.benefits",
        "onecity.synth.actors.sensing",
        "onecity.synth.actors.ops",
        "onecity.synth.actors.credentials",
        "onecity.synth.actors.traffic",
    ),
)
