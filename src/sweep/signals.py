"""Ctrl-C and SIGTERM both become KeyboardInterrupt, so that runs unwind and end KILLED, never stay RUNNING."""

import signal
import threading

interrupted = threading.Event()


def _raise(signum, frame) -> None:
    interrupted.set()
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install() -> None:
    """Route SIGINT and SIGTERM through KeyboardInterrupt and remember that it happened."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise)
