"""One progress bar for every long loop (DEA chunks, tasks on a cluster): rich, on stderr, one line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(total: int, enabled: bool | None, label: str) -> Iterator[Callable[[int], None]]:
    """Yield advance(k). Shown when enabled is True, or enabled is None and stderr is a terminal."""
    show = enabled if enabled is not None else sys.stderr.isatty()
    if not show:
        yield lambda k: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as prog:
        task = prog.add_task(label, total=total)
        yield lambda k: prog.advance(task, k)
