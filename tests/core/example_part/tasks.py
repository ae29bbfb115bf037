"""The example part's periodic task: a tick counter."""

from __future__ import annotations

from onecity.core.tasks import TaskContext

TICKS: list[int] = []


def tick(ctx: TaskContext) -> None:
    TICKS.append(len(TICKS))
