"""Ctrl-C and SIGTERM both become KeyboardInterrupt, so that runs unwind and end KILLED, never stay RUNNING.

While TensorFlow trains, the interrupt is deferred to the next batch boundary: an exception raised from a signal
handler in the middle of a TensorFlow call can corrupt its heap (seen: SIGABRT, runs left RUNNING).
A second signal while deferring raises at once.
"""

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

interrupted = threading.Event()
_deferring = threading.Event()


def _raise(signum, frame) -> None:
    first = not interrupted.is_set()
    interrupted.set()
    if _deferring.is_set() and first:
        return  # StopOnSignal ends training at the next batch; deferred() raises afterwards
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install() -> None:
    """Route SIGINT and SIGTERM through KeyboardInterrupt and remember that it happened."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold an interrupt that arrives inside the block until the block returns, then raise it."""
    _deferring.set()
    try:
        yield
    finally:
        _deferring.clear()
    if interrupted.is_set():
        raise KeyboardInterrupt("interrupted during training")
