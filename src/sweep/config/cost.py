"""How much arithmetic a cell is: the floating-point operations of its Dense layers' matrix products.

Per image, a Dense layer of `i` inputs and `o` outputs costs 2·i·o operations forward (one multiply and one add per
weight). Training an image costs its forward pass, the weights' gradients (2·i·o per layer) and the gradients of
each layer's input (2·i·o per layer but the first); the first Dense layer's input gradient is needed too when a
layer with weights sits in front of it (BatchNormalization among the study's input layers), as backpropagation
must reach that layer's scale and offset. An epoch trains on the training split and runs the validation split
forward; the final evaluation runs the full training and test sets forward. Activations, BatchNormalization,
Dropout, the loss and Adam's updates are left out: they grow with the units, not the weights (Adam's ~10
operations a weight a step is ~7% of the study's step), so the figures are a slight undercount.
"""

import math
from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple

from sweep import data


@dataclass(frozen=True)
class Flops:
    """A cell's operations: per training epoch, for the final evaluation, and in all (epochs x epoch + evaluation)."""

    epoch: float
    evaluation: float
    total: float


def dense_layers(hidden: Sequence[int], image: Sequence[int], classes: int) -> List[Tuple[int, int]]:
    """The (inputs, outputs) of each Dense layer of the study's MLP on images of shape `image`."""
    widths = [math.prod(image), *hidden, classes]
    return list(zip(widths[:-1], widths[1:], strict=True))


def needs_first_input_gradient(cfg: Any) -> bool:
    """Whether a layer with weights sits in front of the first Dense layer (BatchNormalization at the input)."""
    return cfg.model.get("reg_at") == "input" and "batch_normalization" in cfg.reg.input_layers


def per_image(cfg: Any, image: Sequence[int], classes: int) -> Tuple[float, float]:
    """Operations to run one image forward, and to train on it (forward and backward)."""
    # Only the MLP's operations are counted; another model counts as its output layer (this orders jobs, no more).
    products = [2.0 * i * o for i, o in dense_layers(cfg.model.get("hidden", []), image, classes)]
    forward = sum(products)
    backward = forward + sum(products[1:]) + (products[0] if needs_first_input_gradient(cfg) else 0.0)
    return forward, forward + backward


def flops(cfg: Any, image: Sequence[int], classes: int, n_train: int, n_test: int) -> Flops:
    """A cell's operations on `n_train` training images (before the validation split) and `n_test` test images."""
    forward, train = per_image(cfg, image, classes)
    fitted = int(math.floor(n_train * (1.0 - cfg.train.validation_split)))  # Keras' rule, as the loop splits
    epoch = fitted * train + (n_train - fitted) * forward
    evaluation = (n_train + n_test) * forward
    return Flops(epoch, evaluation, cfg.train.epochs * epoch + evaluation)


def of_cell(cfg: Any) -> Flops:
    """A composed cell's operations on its data (read once per process, as the checks read it)."""
    stored = data.raw(cfg.data.name, cfg.data.path)
    shape = data.shape(stored)
    n_train = len(stored.x_train) if cfg.data.limit is None else min(cfg.data.limit, len(stored.x_train))
    return flops(cfg, shape.image, shape.classes, n_train, len(stored.x_test))
