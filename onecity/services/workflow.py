"""Running the items' BPMN 2.0 processes with SpiffWorkflow, one serialized state per case.

The BPMN files are parsed once per process (parsing per case costs 4× the throughput); a
case's workflow is deserialized, advanced by one step and serialized back into its row in
the same transaction, so a restart mid-case resumes exactly where it stopped.

Conventions in the BPMN files, so that any BPMN modeler can edit them:

* a **user task**'s id says who does it: ``accept*`` → counter clerk, ``review*`` →
  reviewer, ``decide*`` → approver, ``supplement`` → the applicant;
* its **lane** says which department: ``lead`` (the item's department) or ``partner``
  (the item's partner department, for parallel joint review);
* a plain **task** (``bpmn:task``) is the platform's own step (``issue``: put the
  certificate into the registry and sign the credential), run by the service, not queued;
* gateways read ``acceptance`` (``accept``/``supplement``) and ``decision``
  (``approve``/``refuse``) from the task data.
"""

from __future__ import annotations

from functools import cache, lru_cache
from importlib import resources
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState

from onecity.core.identity.roles import Role

SHAPES = ("standard_approval", "instant", "joint_review")
APPLICANT = "applicant"
SYSTEM_TASKS = frozenset({"issue"})


@lru_cache(maxsize=1)
def _parser() -> Any:
    parser = BpmnParser()
    folder = resources.files("onecity.services").joinpath("data/bpmn")
    for shape in SHAPES:
        with resources.as_file(folder.joinpath(f"{shape}.bpmn")) as path:
            parser.add_bpmn_file(str(path))
    return parser


@cache
def spec(shape: str) -> Any:
    if shape not in SHAPES:
        raise ValueError(f"unknown workflow shape {shape!r}")
    return _parser().get_spec(shape)


@lru_cache(maxsize=1)
def _serializer() -> Any:
    return BpmnWorkflowSerializer()


def bpmn_xml(shape: str) -> str:
    """The BPMN 2.0 file of a shape, as published in the catalogue."""
    if shape not in SHAPES:
        raise ValueError(f"unknown workflow shape {shape!r}")
    return resources.files("onecity.services").joinpath(f"data/bpmn/{shape}.bpmn").read_text("utf-8")


def start(shape: str) -> Any:
    wf = BpmnWorkflow(spec(shape))
    wf.do_engine_steps()
    return wf


def dump(wf: Any) -> str:
    text: str = _serializer().serialize_json(wf)
    return text


def load(state: str) -> Any:
    return _serializer().deserialize_json(state)


def role_for(task_name: str) -> str:
    if task_name == "supplement":
        return APPLICANT
    for prefix, role in (("accept", Role.COUNTER_CLERK), ("review", Role.REVIEWER), ("decide", Role.APPROVER)):
        if task_name.startswith(prefix):
            return role.value
    raise ValueError(f"the BPMN task {task_name!r} names no role (accept*, review*, decide*, supplement)")


def lane_of(task: Any) -> str:
    return str(getattr(task.task_spec, "lane", None) or "lead")


def ready_tasks(wf: Any) -> list[Any]:
    """Tasks waiting for someone (user tasks) or for the platform (system tasks)."""
    return [t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.manual]


def find(wf: Any, task_id: str) -> Any | None:
    for t in ready_tasks(wf):
        if str(t.id) == task_id:
            return t
    return None


def complete(wf: Any, task: Any, data: dict[str, Any]) -> None:
    task.data.update(data)
    task.run()
    wf.do_engine_steps()


def finished(wf: Any) -> bool:
    return bool(wf.is_completed())


def cancel(wf: Any) -> None:
    wf.cancel()
