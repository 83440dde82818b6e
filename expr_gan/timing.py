"""Where a run's time goes: named phases (rendering, each referee, each epoch, each evaluation),
recorded by the code that does them, written to the run dir as `timings.json`.

The code that does a piece of work wraps it in `timed("referee/judge", cached=False)`; outside a
`recording()` that is a no-op, so library calls (tests, notebooks, expr_gan.evaluate) pay nothing.
Phases nest: each keeps its wall time (`seconds`) and the time not spent in the phases inside it
(`own_seconds`), so the own times of all phases plus `unaccounted` add up to the run's total.
Callbacks whose phases start in one hook and end in another use `begin`/`end`.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class Timings:
    """One run's phases, in the order they began."""

    def __init__(self, started: float | None = None):
        self.started = time.perf_counter() if started is None else started
        self._done: list[tuple[int, dict]] = []  # (begin order, phase) of every closed phase
        self._open: list[dict] = []  # the phases running now, innermost last
        self._begun = 0

    @property
    def phases(self) -> list[dict]:
        """The closed phases, in the order they began (a parent before the phases inside it)."""
        return [phase for _, phase in sorted(self._done, key=lambda done: done[0])]

    def begin(self, name: str, started: float | None = None, **details) -> dict:
        """Start phase `name` inside the innermost open one (at `started`, a perf_counter value, if it
        began before it was recorded: the process's start-up); returns its handle for `end`."""
        frame = {"name": name, "start": time.perf_counter() if started is None else started, "children": 0.0,
                 "depth": len(self._open), "seq": self._begun, **details}
        self._begun += 1
        self._open.append(frame)
        return frame

    def note(self, **details) -> None:
        """Add details to the innermost open phase (e.g. `cached=True`, found by the code inside it)."""
        if self._open:
            self._open[-1].update(details)

    def end(self, frame: dict) -> None:
        """Close `frame`, and any phase still open inside it (left open by an exception)."""
        if not any(open_frame is frame for open_frame in self._open):
            return
        while True:
            top = self._open.pop()
            self._close(top)
            if top is frame:
                return

    def _close(self, frame: dict) -> None:
        seconds = time.perf_counter() - frame["start"]
        if self._open:
            self._open[-1]["children"] += seconds
        details = {k: v for k, v in frame.items() if k not in ("name", "start", "children", "seq")}
        self._done.append((frame["seq"], {"name": frame["name"], "seconds": round(seconds, 3),
                                          "own_seconds": round(seconds - frame["children"], 3),
                                          "at": round(frame["start"] - self.started, 3), **details}))

    def summary(self) -> dict:
        """The record as plain data: total, phases, own time per phase kind (`data`, `referee`, ...)."""
        total, phases = time.perf_counter() - self.started, self.phases
        kinds: dict[str, float] = {}
        for phase in phases:
            kind = phase["name"].split("/")[0]
            kinds[kind] = round(kinds.get(kind, 0.0) + phase["own_seconds"], 3)
        accounted = sum(p["own_seconds"] for p in phases)
        return {"total_seconds": round(total, 3), "unaccounted_seconds": round(total - accounted, 3),
                "by_kind": kinds, "phases": phases}

    def table(self) -> str:
        """A plain-text table of the phases (own seconds, indented by nesting) and the total, for the log."""
        summary = self.summary()
        rows = [f"{'  ' * p['depth'] + p['name']:<34} {p['own_seconds']:>8.1f} s"
                + (" (cached)" if p.get("cached") else "") for p in summary["phases"]]
        rows.append(f"{'(not in a phase)':<34} {summary['unaccounted_seconds']:>8.1f} s")
        rows.append(f"{'total':<34} {summary['total_seconds']:>8.1f} s")
        return "\n".join(rows)


_RECORDS: list[Timings] = []  # the active recordings, innermost last


@contextmanager
def recording(started: float | None = None) -> Iterator[Timings]:
    """Record every `timed` phase of this block (from `started`, a perf_counter value, if given)."""
    record = Timings(started)
    _RECORDS.append(record)
    try:
        yield record
    finally:
        _RECORDS.remove(record)


def active() -> Timings | None:
    """The innermost active recording, or None."""
    return _RECORDS[-1] if _RECORDS else None


def note(**details) -> None:
    """Add details to the innermost open phase of the active recording (a no-op outside one)."""
    record = active()
    if record is not None:
        record.note(**details)


def process_started() -> float:
    """When this process started, as a `time.perf_counter()` value (Linux: from /proc; elsewhere: now)."""
    import os

    now_wall, now = time.time(), time.perf_counter()
    try:
        with open("/proc/self/stat") as stat:  # field 22: the start, in clock ticks after boot
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith("btime"))
        age = now_wall - (boot + ticks / os.sysconf("SC_CLK_TCK"))
        return now - age if 0 <= age < 3600 else now
    except (OSError, ValueError, IndexError, StopIteration):
        return now


@contextmanager
def timed(name: str, **details) -> Iterator[dict]:
    """Time the block as phase `name`; the block may add details to the yielded dict (e.g. `cached`)."""
    record = active()
    if record is None:
        yield dict(details)
        return
    frame = record.begin(name, **details)
    try:
        yield frame
    finally:
        record.end(frame)
