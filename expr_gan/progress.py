"""Progress for the work expr_gan does outside Lightning's loop (referees, the critic, the C2ST)."""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator

log = logging.getLogger("expr_gan")


def progress_range(steps: int, label: str | None = None) -> Iterator[int]:
    """`range(steps)`, with a progress bar (elapsed and estimated remaining time) under `label` on a
    terminal, and a log line when it starts and when it is done; silent when `label` is None."""
    if label is None:
        yield from range(steps)
        return
    from rich.console import Console
    from rich.errors import LiveError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    log.info("%s: %d steps", label, steps)
    started = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    bar = Progress(*columns, console=Console(stderr=True), disable=not sys.stderr.isatty())
    try:
        bar.start()
    except LiveError:  # another live display (e.g. Lightning's progress bar) owns the terminal
        bar = Progress(disable=True)
    with bar:
        task = bar.add_task(label, total=steps)
        for step in range(steps):
            yield step
            bar.advance(task)
    log.info("%s: done in %.1f s", label, time.perf_counter() - started)
