"""How many cases a second the services' workflow engine moves through their BPMN, as the service runs it.

Each case does what ``onecity.services.service`` does around SpiffWorkflow: start the item's
process from the spec parsed once per process, then for each step deserialize the stored
state, complete the ready user task, run the engine and serialize the state back (the JSON
the case row keeps, so a restart resumes it). Shapes: ``standard_approval`` (accept, review,
decide, issue) and ``joint_review`` (accept, two parallel reviews, decide, issue).

Baseline, same run: the same cases with the BPMN parsed again for every case (what code that
builds its parser per request would do; the design brief measured it 4× slower). **Ratio** =
service path / baseline. Also reported: the size of a mid-case state and its (de)serialize time.
"""

from __future__ import annotations

from typing import Any

from bench._common import Stopwatch, emit, log, parser, rate, ratio

NAME = "services_workflow"
OUTCOMES = {"accept": {"acceptance": "accept"}, "review": {}, "decide": {"decision": "approve"}}


def run_case(shape: str, spec_for: Any, persist: bool) -> int:
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from onecity.services import workflow

    wf = BpmnWorkflow(spec_for(shape))
    wf.do_engine_steps()
    state = workflow.dump(wf) if persist else None
    steps = 0
    while True:
        if persist:
            wf = workflow.load(state or "")
        ready = workflow.ready_tasks(wf)
        if not ready:
            break
        task = ready[0]
        name = task.task_spec.name
        data = next((v for k, v in OUTCOMES.items() if name.startswith(k)), {})
        workflow.complete(wf, task, data)
        steps += 1
        if persist:
            state = workflow.dump(wf)
    assert workflow.finished(wf)
    return steps


def fresh_spec(shape: str) -> Any:
    from importlib import resources

    from SpiffWorkflow.bpmn.parser import BpmnParser

    p = BpmnParser()
    with resources.as_file(resources.files("onecity.services").joinpath(f"data/bpmn/{shape}.bpmn")) as path:
        p.add_bpmn_file(str(path))
    return p.get_spec(shape)


def main() -> None:
    p = parser(__doc__ or NAME)
    p.add_argument("--cases", type=int, default=2000, help="cases per shape")
    args = p.parse_args()
    if args.quick:
        args.cases = 50
    from onecity.services import workflow

    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    for shape in ("standard_approval", "joint_review"):
        workflow.spec(shape)  # parse once, as the service does at first use
        log(f"{shape}: {args.cases} cases, state persisted after every step…")
        steps = 0
        with Stopwatch() as sw:
            for _ in range(args.cases):
                steps += run_case(shape, workflow.spec, persist=True)
        figures[f"{shape}.cases_per_s"] = rate(args.cases, sw.seconds)
        figures[f"{shape}.steps_per_s"] = rate(steps, sw.seconds)
        n_base = max(10, args.cases // 10)
        log(f"{shape}: baseline, {n_base} cases parsing the BPMN for each…")
        with Stopwatch() as bw:
            for _ in range(n_base):
                run_case(shape, fresh_spec, persist=True)
        baseline[f"{shape}.cases_per_s"] = rate(n_base, bw.seconds)
        ratios[f"{shape}.cached_vs_parse_per_case"] = ratio(
            figures[f"{shape}.cases_per_s"], baseline[f"{shape}.cases_per_s"]
        )
    wf = workflow.start("joint_review")
    workflow.complete(wf, workflow.ready_tasks(wf)[0], {"acceptance": "accept"})
    state = workflow.dump(wf)
    rounds = 200 if not args.quick else 20
    with Stopwatch() as dw:
        for _ in range(rounds):
            workflow.dump(workflow.load(state))
    figures["mid_case_state_bytes"] = len(state.encode("utf-8"))
    figures["state_roundtrip_ms"] = round(dw.seconds / rounds * 1000, 3)
    emit(NAME, {"cases": args.cases}, figures, baseline, ratios)


if __name__ == "__main__":
    main()
