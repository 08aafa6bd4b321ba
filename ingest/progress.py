"""Report loader progress to a rich-Progress-like sink (add_task/advance)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def progress_task(progress: Any, label: str, total: int) -> Callable[[int], None]:
    """Add a task to `progress` (None: no progress) and return its advance callback."""
    if progress is None:
        return lambda _n: None
    task = progress.add_task(label, total=total)
    return lambda n: progress.advance(task, n)
