"""What a bench reads of local processes from ``/proc``: resident memory, CPU time, and the CPU of
every server process of one PostgreSQL database while a measured block runs (its sessions and the
parallel workers they start are processes of their own, not the bench's)."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path


def proc_status_mb(pid: int | str | None, field: str) -> float | None:
    """A field of a local process's ``/proc/<pid>/status`` in MB, when it can be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text() if pid else ""
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def peak_rss_mb(pid: int | str | None) -> float | None:
    """A local process's peak resident memory (``VmHWM``): the database server's backend on this
    machine (the shared buffers it touched count too)."""
    return proc_status_mb(pid, "VmHWM")


def cpu_seconds(pid: int | None) -> float | None:
    """A local process's user and system CPU time so far (``/proc/<pid>/stat``), None if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text() if pid else ""
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 13:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Backends:
    """The CPU time the database's server processes spend while this is entered: its backends (the
    bench's and the scan's own sessions) and the parallel workers they start, which are processes of
    their own (``postgres: parallel worker for PID <leader>``) that end with their query. ``/proc`` is
    read every :attr:`EVERY` seconds and each process's first and last reading kept (a process that
    ends in between loses at most that much)."""

    EVERY = 0.02

    def __init__(self, database: str | None) -> None:
        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @property
    def cpu_seconds(self) -> float:
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())

    def __enter__(self) -> Backends:
        if self.database:
            self.first = self._read()
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self.last.update(self._read())

    def _read(self) -> dict[int, float]:
        backend = re.compile(rb"^postgres: .*? " + re.escape(str(self.database).encode()) + rb" ")
        worker = re.compile(rb"parallel worker for PID (\d+)")
        found: dict[int, float] = {}
        leaders: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                command = Path(entry.path, "cmdline").read_bytes()
            except OSError:
                continue
            cpu = cpu_seconds(int(entry.name)) if command.startswith(b"postgres: ") else None
            if cpu is None:
                continue
            if backend.match(command):
                found[int(entry.name)] = cpu
            elif (m := worker.search(command)) is not None:
                leaders[int(entry.name)] = int(m[1])
        found.update({pid: cpu_seconds(pid) or 0.0 for pid, leader in leaders.items() if leader in found})
        return found

    def _watch(self) -> None:
        while not self._stop.wait(self.EVERY):
            self.last.update(self._read())


def rss_mb(pid: int | str) -> float:
    """A process's resident memory now (``VmRSS``; 0 where ``/proc`` is not there)."""
    return proc_status_mb(pid, "VmRSS") or 0.0
