"""What a model builder is: a function of the keyword arguments it declares, returning an uncompiled keras.Model.

sweep offers every builder `input_shape` (one image as the data set stores it, e.g. (28, 28)), `n_classes`, `act`
(the act option's Keras activation name), `reg` (the reg option's values, a `Reg`) and the model option's own keys;
it passes only those the builder's signature declares (all of them to a `**kwargs`). The model's output must be a
probability vector over `n_classes` (e.g. a softmax Dense layer). Optimizer, loss, metrics and training are sweep's.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Tuple

from sweep.config.checks import MODEL_KEYS

if TYPE_CHECKING:
    import keras

OFFERED = ("input_shape", "n_classes", "act", "reg")  # what sweep offers every builder beside the option's own keys
# the built-in model options (sweep.config.checks.MODEL_KEYS), each sweep.models.<name>.build; any other names its own
BUILTIN = {name: f"sweep.models.{name}.build" for name in MODEL_KEYS}


class Builder(Protocol):
    """A model builder: called once per cell with the keyword arguments it declares."""

    def __call__(self, **kwargs: Any) -> "keras.Model": ...


@dataclass(frozen=True)
class Reg:
    """The reg option's values as a builder gets them (conf/reg/*.yaml)."""

    name: str
    input_layers: Tuple[str, ...]
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0

    @classmethod
    def of(cls, reg: Any) -> "Reg":
        """The values of a composed reg option."""
        return cls(reg.name, tuple(reg.input_layers), float(reg.dropout), float(reg.l1), float(reg.l2))
