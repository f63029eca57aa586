"""What a job prints as it trains: Keras' bar when alone, a line per epoch in a sweep, nothing under a live display."""

import sys
import time
from typing import Dict, List, Optional

import keras

from sweep.process import console

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


class EpochLines(keras.callbacks.Callback):
    """Print one line per finished epoch, prefixed with the cell's name: `[reg=none act=relu] epoch 3/12 loss …`."""

    def __init__(self, name: str, epochs: int) -> None:
        super().__init__()
        self.name, self.epochs = name, epochs

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        values = " ".join(f"{key} {float(logs[key]):.4f}" for key in METRICS if key in (logs or {}))
        seconds = time.perf_counter() - self.started
        print(f"[{self.name}] epoch {epoch + 1}/{self.epochs} {values} ({seconds:.1f} s)", flush=True)


def keras_verbose(in_sweep: bool) -> int:
    """Keras' own output: none in a sweep (its jobs print lines or feed the display), else a bar on a terminal."""
    return 0 if in_sweep else (1 if sys.stdout.isatty() else 2)


def callbacks(name: str, epochs: int, in_sweep: bool) -> List[keras.callbacks.Callback]:
    """The job's printing callbacks: a line per epoch in a sweep without a live display, else none."""
    return [EpochLines(name, epochs)] if in_sweep and not console.live() else []


def say(text: str, in_sweep: bool) -> None:
    """Print one of the job's status lines, unless a live display shows the sweep (it says the same)."""
    if not (in_sweep and console.live()):
        print(text, flush=True)


def say_result(name: str, final: Dict[str, float], pruned_at: Optional[int], in_sweep: bool) -> None:
    """The job's last line: its accuracies, or the epoch a search's pruner stopped it at."""
    if pruned_at:
        say(f"[sweep] {name}: pruned after epoch {pruned_at} ({final['fit_time_s']:.1f} s fit)", in_sweep)
        return
    say(
        f"[sweep] {name}: train_accuracy={final['train_accuracy']:.4f} "
        f"val_accuracy={final['val_accuracy']:.4f} test_accuracy={final['test_accuracy']:.4f} "
        f"({final['fit_time_s']:.1f} s fit)",
        in_sweep,
    )
