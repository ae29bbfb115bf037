"""An API worker killed mid-stream: ``onecity serve --workers 2`` on PostgreSQL, Open311 reports
arriving, and each of the two first workers SIGKILLed in turn while requests are in flight.

What a city needs of it (issue 13, "kill tests still hold"): nothing a client was told is stored
is lost, nothing is stored twice, the supervisor brings a new worker up, the outbox relay still
delivers every event (one of the killed workers led the periodic tasks, the sealer and the
clock among them; the survivor takes the lead over), and the audit chain verifies afterwards.

A client that retries must send an ``Idempotency-Key``: a connection cut after the commit and
before the answer is then answered by a replay, not a second report. Reports sent without a key
(the one-statement path) are sent once: each one answered 201 must be stored exactly once, and
one that lost its answer is stored once or not at all, never twice.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench._runs import free_port, orphanless
from onecity.core import audit
from onecity.core.db import Database
from onecity.core.events import OutboxMessage
from onecity.core.idempotency import IdempotencyRecord
from onecity.ops.models import Report
from tests.ops.conftest import HUNANLU_POINT, TIANPING_POINT, Ops

ROOT = Path(__file__).resolve().parents[2]
KEYED, UNKEYED = 60, 30  # reports retried under a key until answered; reports sent once without one
DEADLINE = 200.0  # seconds for the whole stream, worker starts on a loaded machine included


def _workers(supervisor: int) -> list[int]:
    """The uvicorn worker processes under ``supervisor`` (multiprocessing's spawned children)."""
    path = Path(f"/proc/{supervisor}/task/{supervisor}/children")
    out = []
    for pid in path.read_text().split() if path.exists() else []:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd:
            out.append(int(pid))
    return out


def _post(base: str, form: dict[str, str], key: str | None) -> tuple[int, bytes]:
    headers = {"Idempotency-Key": key} if key else {}
    req = urllib.request.Request(
        f"{base}/open311/v2/requests.json", data=urllib.parse.urlencode(form).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.timeout(290)
def test_api_workers_killed_mid_stream_lose_and_repeat_nothing(
    db: Database, ops: Ops, open311_key: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ONECITY_ENV": "test",
        "ONECITY_DATABASE_URL": db.url,
        "ONECITY_BUS_URL": "memory://",
        "ONECITY_SECRET_KEY": secrets.token_urlsafe(48),
        "ONECITY_OUTBOX_POLL_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [sys.executable, "-m", "onecity", "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(orphanless(cmd), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    supervisor = server.pid  # setpriv execs the command: the supervisor keeps the pid
    began = time.monotonic()
    answered: dict[int, int] = {}  # report number -> HTTP status of its (last) answer
    lost_answers: list[int] = []  # unkeyed reports whose answer never came
    killed: list[int] = []
    cut = [0]  # requests a kill cut off (or refused while a worker was down)
    lock = threading.Lock()

    def form(i: int) -> dict[str, str]:
        lon, lat = TIANPING_POINT if i % 2 else HUNANLU_POINT
        return {
            "api_key": open311_key,
            "service_code": "E0101",
            "lat": str(lat),
            "long": str(lon),
            "description": f"worker-kill report {i}",
        }

    def client(numbers: list[int]) -> None:
        for i in numbers:
            key = f"kill-{i}" if i < KEYED else None
            while time.monotonic() - began < DEADLINE:
                try:
                    status, _body = _post(base, form(i), key)
                except OSError:  # refused (starting), reset or cut (a killed worker)
                    status = 0
                    with lock:
                        cut[0] += 1
                if status in (200, 201) or key is None:
                    with lock:
                        if status in (200, 201):
                            answered[i] = status
                        elif key is None:
                            lost_answers.append(i)
                    break
                time.sleep(0.2)

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # both workers up and answering
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=5) as r:
                    if r.status == 200 and len(_workers(supervisor)) == 2:
                        break
            except OSError:
                pass
            assert server.poll() is None, log.read_text(errors="replace")
            time.sleep(0.3)
        else:
            pytest.fail("onecity serve --workers 2 did not answer within 120 s")
        first_two = _workers(supervisor)
        # keyed reports first in each client's list, the unkeyed ones spread among them
        order = list(range(KEYED + UNKEYED))
        threads = [threading.Thread(target=client, args=(order[k::3],), daemon=True) for k in range(3)]
        for t in threads:
            t.start()
        for victim, share in zip(first_two, (1 / 3, 2 / 3), strict=True):
            while len(answered) < share * len(order) and time.monotonic() - began < DEADLINE:
                time.sleep(0.01)
            os.kill(victim, signal.SIGKILL)  # mid-stream: three clients have requests in flight
            killed.append(victim)
        for t in threads:
            t.join(timeout=max(1.0, DEADLINE - (time.monotonic() - began)))
        assert not any(t.is_alive() for t in threads), "the clients did not finish"
        deadline = time.monotonic() + 60  # the supervisor starts a new worker for each killed one
        while time.monotonic() < deadline and len(set(_workers(supervisor)) - set(killed)) < 2:
            time.sleep(0.2)
        survivors = _workers(supervisor)
        assert len(survivors) == 2 and not set(survivors) & set(killed), (first_two, killed, survivors)
        # every event of the stream reaches the bus: the relay runs on in the workers that live
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.sessions() as s:
                pending = s.scalar(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
                )
            if not pending:
                break
            time.sleep(0.5)
        assert not pending, f"{pending} events were never relayed after the kills"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    keyed_ok = [i for i in range(KEYED) if answered.get(i) in (200, 201)]
    assert len(keyed_ok) == KEYED, f"keyed reports never answered: {sorted(set(range(KEYED)) - set(keyed_ok))}"
    with db.sessions() as s:
        stored = {
            d: n
            for d, n in s.execute(
                select(Report.description, func.count())
                .where(Report.description.like("worker-kill report %"))
                .group_by(Report.description)
            )
        }
        keys = s.scalar(select(func.count()).select_from(IdempotencyRecord).where(IdempotencyRecord.key.like("kill-%")))
    twice = {d: n for d, n in stored.items() if n > 1}
    assert not twice, f"stored more than once: {twice}"
    for i in range(KEYED):  # each keyed report exactly once, however often it was sent
        assert stored.get(f"worker-kill report {i}") == 1, i
    for i, status in answered.items():  # whatever was answered 201 is there
        assert status in (200, 201) and stored.get(f"worker-kill report {i}") == 1, i
    assert keys == KEYED
    assert len(killed) == 2
    logging.getLogger(__name__).info(
        f"{len(answered)} of {KEYED + UNKEYED} answered, {cut[0]} requests cut by the kills, unkeyed unanswered: "
        f"{len(lost_answers)}, stored: {len(stored)}"
    )
    # the chain holds every entry of the stream, sealed by whoever leads now or by this seal
    audit.seal(db)
    with db.sessions() as s:
        result = audit.verify(s)
        assert result.ok, result
        assert result.unsealed == 0
