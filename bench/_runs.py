"""A run's own names, children that die with it, and the sweep of what dead runs left behind.

Shared by the benchmarks and the test suite: both use servers that outlive them (PostgreSQL,
NATS JetStream, an MQTT broker), and a run that is interrupted — Ctrl-C, SIGTERM, a kill, a
timeout — must not change the next run's result. Three rules make that so:

* **names of its own**: every database, stream and share group a run creates carries the
  run's process id (``onecity_test_<pid>``, ``TEST_<pid>_<hex>``, ``bench-<pid>-<hex>``), so
  two runs never meet, and a later run can tell a leftover of a dead run from a live one's;
* **children die with the run**: servers and workers a run starts get ``SIGTERM`` from Linux
  when the run dies, however it dies (``PR_SET_PDEATHSIG``), and clean up on it;
* **the next start sweeps**: what a run killed outright could not remove (a database, a
  stream) is dropped by the next run, when the process id in its name is no longer alive.

A broker's persistent MQTT sessions cannot be listed, so they are bounded instead: the
workers of a run use its own share group and a short session expiry, and by default a run
talks to a Mosquitto of its own that dies with it (``private_mosquitto``).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Names a run creates and a later run may sweep; the digits captured are the creating process's id.
PG_LEFTOVER = re.compile(
    r"^onecity_(?:test_(\d+)|svc_tpl_(\d+)|(?:svc|test_reg)_(\d+)_[0-9a-f]{6}|bench_[a-z]+_(\d+)_[0-9a-f]{8})$"
)
STREAM_LEFTOVER = re.compile(r"^(?:TEST|BENCH)_(\d+)_[0-9A-F]{6,}$")

_PR_SET_PDEATHSIG = 1


def tag(prefix: str) -> str:
    """``<prefix>-<pid>-<random>``: a name no other run uses, that says which process made it."""
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (a zombie counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send this process ``sig`` when its parent dies (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), sig)


def orphanless(cmd: list[str]) -> list[str]:
    """``cmd`` so that it gets SIGTERM when the process that starts it dies, even by SIGKILL.

    ``setpriv --pdeathsig`` (util-linux) sets it between fork and exec, where Python code may
    not safely run in a process with threads; without setpriv the command runs as it is."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "TERM", "--", *cmd] if setpriv else cmd


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit``, so that ``finally`` blocks (drop a database, stop a
    worker) run when a run is stopped rather than interrupted at the keyboard."""

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


# -- the sweep ------------------------------------------------------------------------------------


def dead_leftovers(names: list[str], pattern: re.Pattern[str]) -> list[str]:
    """The names in ``names`` made by a run whose process is gone."""
    out = []
    for name in names:
        m = pattern.match(name)
        pid = int(next((g for g in m.groups() if g), "0")) if m is not None else 0
        if pid and pid != os.getpid() and not pid_alive(pid):
            out.append(name)
    return out


def sweep_postgres(admin_url: str) -> list[str]:
    """Drop the test and benchmark databases of dead runs; returns their names."""
    from sqlalchemy import text

    from onecity.core.db import Database

    admin = Database(admin_url)
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            names = [
                str(n) for n in conn.scalars(text("SELECT datname FROM pg_database WHERE datname LIKE 'onecity_%'"))
            ]
            dead = dead_leftovers(names, PG_LEFTOVER)
            for name in dead:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return dead
    finally:
        admin.dispose()


async def _sweep_streams(url: str) -> list[str]:
    import nats

    nc = await asyncio.wait_for(nats.connect(url, connect_timeout=2, max_reconnect_attempts=0), timeout=5)
    try:
        js = nc.jetstream()
        names = [s.config.name for s in await js.streams_info() if s.config.name]
        dead = dead_leftovers(names, STREAM_LEFTOVER)
        for name in dead:
            await js.delete_stream(name)  # its consumers go with it
        return dead
    finally:
        await nc.close()


def sweep_streams(url: str) -> list[str]:
    """Delete the JetStream streams (and so their consumers) of dead test and benchmark runs."""
    return asyncio.run(_sweep_streams(url))


# -- a broker of the run's own --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mosquitto_path() -> str | None:
    """The Mosquitto executable, if installed (Debian puts it in /usr/sbin, often off PATH)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


@contextmanager
def private_mosquitto() -> Iterator[str]:
    """A Mosquitto of this run's own on a free port, in memory; yields its ``mqtt://`` URL.

    No session, share group or retained message of another run can reach it, and it dies
    with the run. ``max_queued_messages 0`` lifts the stock limit of 1,000 messages queued for
    a session that is offline (a worker being restarted), which would drop QoS 1 messages."""
    exe = mosquitto_path()
    if exe is None:
        raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="onecity-mqtt-") as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        # run as root, Mosquitto switches to its own user, and Linux clears the parent death signal
        # on a change of user: stay who we are, so that the broker dies with the run
        stay = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"max_queued_messages 0\nmax_inflight_messages 0\n{stay}"
        )
        proc = subprocess.Popen(
            orphanless([exe, "-c", str(conf)]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"a private Mosquitto did not start on port {port}") from None
                    time.sleep(0.05)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
