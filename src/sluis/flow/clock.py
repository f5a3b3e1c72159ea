"""Time and memory per stage of a run, reported to a progress callback (X4)."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[str, int, int], None]


class StageClock:
    """``with clock("extract"):`` records the stage's seconds and the process's peak
    resident memory so far (MiB) into ``seconds`` and ``peak_rss_mib``, in stage order,
    and ticks the progress callback at its start and end."""

    def __init__(
        self, seconds: dict[str, float], peak_rss_mib: dict[str, int], tick: Progress
    ) -> None:
        self.seconds, self.peak_rss_mib, self.tick = seconds, peak_rss_mib, tick

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        self.tick(stage, 0, 1)
        start = time.perf_counter()
        yield
        self.seconds[stage] = round(time.perf_counter() - start, 3)
        self.peak_rss_mib[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        self.tick(stage, 1, 1)
