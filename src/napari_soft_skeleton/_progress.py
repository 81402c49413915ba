"""Progress counting for the library's ``progress(done, total)`` callbacks."""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int], None]


class _Progress:
    """Counts units of work and reports them to an optional callback."""

    def __init__(self, callback: ProgressCallback | None, total: int):
        self.callback = callback
        self.total = max(int(total), 1)
        self.done = 0

    def step(self, n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        if self.callback is not None:
            self.callback(self.done, self.total)
