"""Where a command's start-up goes: `mark(phase)` appends `<epoch seconds> <pid> <phase>` to the file named by
$SWEEP_TIMELINE, from the launching process and from every worker (benchmarks/startup.py reads it back).

Unset (always, outside that benchmark), a mark costs one environment lookup. Written by hand: a profiler sees one
process at a time, and the question is when each process reached each step of the critical path.
"""

import os
import time

ENV = "SWEEP_TIMELINE"


def mark(phase: str) -> None:
    """Record that this process reached `phase` now (appends are atomic for short lines: workers share the file)."""
    path = os.environ.get(ENV)
    if path:
        with open(path, "a") as out:
            out.write(f"{time.time():.3f} {os.getpid()} {phase}\n")
