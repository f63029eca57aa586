"""A user's builder checked once, up front, in the launching process: one ConfigError naming what is wrong.

It must import, take every own key of its option and every key the sweep varies that reaches it (act, reg,
model.*), build on the data's real input shape, and return a keras.Model whose output is a probability vector
over the classes. The built-in models are sweep's own and checked by sweep.config.checks without TensorFlow.
"""

from typing import Any, Dict, Iterable, Optional

import numpy as np

from sweep import data
from sweep.config.schema import ConfigError
from sweep.models import builders
from sweep.process import quiet

TOLERANCE = 1e-3  # how far from 1 the sum of an output row may be


def needs(key: str) -> Optional[str]:
    """The builder parameter a swept key reaches: act, reg or a model key (None for the rest)."""
    group, _, rest = key.partition(".")
    if group in ("act", "reg"):
        return group
    if group == "model" and rest:
        return rest.partition(".")[0]
    return None


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _takes(label: str, path: str, builder: Any, model: Any, swept: Iterable[str]) -> None:
    names, anything = builders.declared(builder)
    if anything:
        return
    for key in builders.own_keys(model):
        if key not in names:
            raise ConfigError(
                f"model.{key}: model={label} has the key {key}, which {path} does not take "
                f"(it takes {', '.join(sorted(names)) or 'nothing'}); add {_a(key)} parameter or drop the key",
                f"model.{key}",
            )
    for key in swept:
        need = needs(key)
        if need and need not in names:
            raise ConfigError(
                f"model={label} does not take {need}; add {_a(need)} parameter to {path} or drop {key} from the sweep",
                key,
            )


def _output(label: str, path: str, net: Any, shape: data.Shape) -> None:
    import keras

    if not isinstance(net, keras.Model):
        raise ConfigError(f"model={label}: {path} returned {type(net).__name__}, not a keras.Model", "model._target_")
    x = np.random.default_rng(0).random((4, *shape.image), dtype=np.float32)
    try:  # on a batch of the data's shape: a Sequential net built without keras.Input has no output_shape before
        out = np.asarray(net(x, training=False), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - the net's own failure on the data's shape, in one line
        raise ConfigError(
            f"model={label}: {path}'s net fails on images of shape {shape.image}: {exc}", "model._target_"
        ) from exc
    if (None, *out.shape[1:]) != (None, shape.classes):
        raise ConfigError(
            f"model={label}: {path}'s output has shape {(None, *out.shape[1:])}, not (None, {shape.classes}) "
            "(one probability per class)",
            "model._target_",
        )
    if not (np.all(out >= -TOLERANCE) and np.allclose(out.sum(axis=1), 1.0, atol=TOLERANCE)):
        raise ConfigError(
            f"model={label}: {path}'s output is not a probability vector (rows sum to {out.sum(axis=1).round(3)}); "
            "end the model with a softmax, e.g. keras.layers.Dense(n_classes, activation='softmax')",
            "model._target_",
        )


def builder(spec: Dict[str, Any], swept: Iterable[str]) -> None:
    """Check one user model option as a job composes it: `spec` holds its model, act, reg, data and label."""
    label, model = spec["label"], spec["model"]
    path = builders.target(model)
    fn = builders.load(path)
    _takes(label, path, fn, model, swept)
    stored = data.raw(spec["data"]["name"], spec["data"].get("path"))
    shape = data.shape(stored)
    try:
        net = builders.call(fn, builders.offered(model, spec["act"], spec["reg"], shape))
    except Exception as exc:  # noqa: BLE001 - the builder's own failure, shown in one line
        raise ConfigError(f"model={label}: {path} raised {type(exc).__name__}: {exc}", "model._target_") from exc
    _output(label, path, net, shape)


def builders_of(specs: Iterable[Dict[str, Any]], swept: Iterable[str]) -> None:
    """Check every distinct user model option of a sweep (built in models need no build to be checked)."""
    specs, swept = list(specs), list(swept)
    if specs:
        quiet.import_tensorflow()
    for spec in specs:
        builder(spec, swept)
