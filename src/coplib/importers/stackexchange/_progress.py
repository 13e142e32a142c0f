"""A progress bar over the bytes read, on a terminal, when rich (the ``import`` extra) is
installed; nothing otherwise."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TextIO

from coplib.importers.stackexchange._driver import ProgressCallback


@contextlib.contextmanager
def terminal_progress(stream: TextIO) -> Iterator[ProgressCallback | None]:
    """Within: a progress callback drawing one bar per stage on `stream` when it is a
    terminal and rich is installed, else None (quiet)."""
    if not stream.isatty():
        yield None
        return
    try:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
    except ImportError:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=stream)) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            task = tasks.get(stage)
            if task is None:
                task = tasks[stage] = bars.add_task(stage, total=total)
            bars.update(task, completed=done)

        yield update
