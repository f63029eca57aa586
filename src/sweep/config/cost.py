"""How much arithmetic a cell is: the floating-point operations of its Dense and Conv2D layers' products.

Per image, a Dense layer of `i` inputs and `o` outputs costs 2·i·o operations forward (one multiply and one add per
weight); a same-padded Conv2D of a k×k kernel from `i` to `o` channels, 2·k·k·i·o at each of its outputs' h·w
places. Training an image costs its forward pass, the weights' gradients (as much again) and the gradients of each
layer's input (as much again, for every layer but the first); the first layer's input gradient is needed too when a
layer with weights sits in front of it (BatchNormalization among the study's input layers), as backpropagation
must reach that layer's scale and offset. An epoch trains on the training split and runs the validation split
forward; the final evaluation runs the full training and test sets forward. Activations, pooling,
BatchNormalization, Dropout, the loss and Adam's updates are left out: they grow with the units, not the weights
(Adam's ~10 operations a weight a step is ~7% of the study's step), so the figures are a slight undercount.
The built-in models (the MLP, the CNN) are counted from their config. A user's builder is not known before it is
built: it counts 0 with `known` False, so it orders no job before another and no figure may quote it.
"""

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from sweep import data
from sweep.config.checks import MODEL_KEYS


@dataclass(frozen=True)
class Flops:
    """A cell's operations: per training epoch, for the final evaluation, and in all (epochs x epoch + evaluation)."""

    epoch: float
    evaluation: float
    total: float
    known: bool = True  # False for a user's builder: the figures are 0, not its operations


def dense_layers(hidden: Sequence[int], image: Sequence[int], classes: int) -> List[Tuple[int, int]]:
    """The (inputs, outputs) of each Dense layer of the study's MLP on images of shape `image`."""
    widths = [math.prod(image), *hidden, classes]
    return list(zip(widths[:-1], widths[1:], strict=True))


def cnn_products(model: Any, image: Sequence[int], classes: int) -> List[float]:
    """Each weighted layer's forward operations per image in sweep.models.cnn: conv blocks (2x2 pooling), Dense."""
    (height, width), channels = image[:2], image[2] if len(image) == 3 else 1
    products = []
    for filters in model.filters:
        products.append(2.0 * height * width * model.kernel**2 * channels * filters)
        height, width, channels = -(-height // 2), -(-width // 2), filters  # same-padded pooling rounds up
    return products + [2.0 * i * o for i, o in dense_layers([model.dense], (height, width, channels), classes)]


def needs_first_input_gradient(cfg: Any) -> bool:
    """Whether a layer with weights sits in front of the first Dense layer (BatchNormalization at the input)."""
    return cfg.model.get("reg_at") == "input" and "batch_normalization" in cfg.reg.input_layers


def products(cfg: Any, image: Sequence[int], classes: int) -> Optional[List[float]]:
    """Each weighted layer's forward operations per image; None for a user's builder (not known before it builds)."""
    model = cfg.model
    if model.get("_target_") or model.get("name") not in MODEL_KEYS:
        return None
    if model.get("name") == "cnn":
        return cnn_products(model, image, classes)
    return [2.0 * i * o for i, o in dense_layers(model.hidden, image, classes)]


def per_image(cfg: Any, image: Sequence[int], classes: int) -> Tuple[float, float]:
    """Operations to run one image forward, and to train on it (forward and backward); (0, 0) when not known."""
    counted = products(cfg, image, classes) or [0.0]
    forward = sum(counted)
    backward = forward + sum(counted[1:]) + (counted[0] if needs_first_input_gradient(cfg) else 0.0)
    return forward, forward + backward


def flops(cfg: Any, image: Sequence[int], classes: int, n_train: int, n_test: int) -> Flops:
    """A cell's operations on `n_train` training images (before the validation split) and `n_test` test images."""
    forward, train = per_image(cfg, image, classes)
    fitted = int(math.floor(n_train * (1.0 - cfg.train.validation_split)))  # Keras' rule, as the loop splits
    epoch = fitted * train + (n_train - fitted) * forward
    evaluation = (n_train + n_test) * forward
    known = products(cfg, image, classes) is not None
    return Flops(epoch, evaluation, cfg.train.epochs * epoch + evaluation, known)


def of_cell(cfg: Any) -> Flops:
    """A composed cell's operations on its data (read once per process, as the checks read it)."""
    stored = data.raw(cfg.data.name, cfg.data.path)
    shape = data.shape(stored)
    n_train = len(stored.x_train) if cfg.data.limit is None else min(cfg.data.limit, len(stored.x_train))
    return flops(cfg, shape.image, shape.classes, n_train, len(stored.x_test))
