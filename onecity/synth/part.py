"""The synthetic city's manifest: the commands that make up a city for demos, tests and benchmarks."""

from onecity.core.parts import Part

PART = Part(
    name="synth",
    package="onecity.synth",
    commands=("onecity.synth.cli",),
)
