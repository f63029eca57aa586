"""Find a model option's builder (built in, or a user's `_target_`), and call it with what it declares."""

import importlib
import inspect
import os
import sys
from typing import Any, Callable, Dict, Set, Tuple

from omegaconf import OmegaConf

from sweep.config import checks
from sweep.config.schema import ConfigError
from sweep.data import Shape
from sweep.models.contract import BUILTIN, OFFERED, Builder, Reg

RESERVED = ("name", "_target_")  # a model option's keys that are not its builder's


def target(model: Any) -> str:
    """The dotted path of the option's builder: its `_target_`, or the built-in one of its name."""
    if model.get("_target_"):
        return str(model["_target_"])
    if model.get("name") in BUILTIN:
        return BUILTIN[model["name"]]
    raise checks.no_builder(model.get("name"))


def own_keys(model: Any) -> Dict[str, Any]:
    """The option's own keys, as plain values: what its builder gets beside input_shape, n_classes, act, reg."""
    values = OmegaConf.to_container(model, resolve=True) if OmegaConf.is_config(model) else dict(model)
    return {k: v for k, v in values.items() if k not in RESERVED}


def load(path: str) -> Builder:
    """Import `package.module.function`; the launch directory is on the path. ConfigError when it does not import."""
    module_name, _, name = path.rpartition(".")
    if os.getcwd() not in sys.path:  # a user's builder sits beside the command, as Hydra's --config-dir does
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name) if module_name else None
    except Exception as exc:  # noqa: BLE001 - any failure to import is the user's to see, in one line
        raise ConfigError(
            f"model._target_={path}: {module_name} does not import: {type(exc).__name__}: {exc}", "model._target_"
        ) from exc
    builder = getattr(module, name, None) if module else None
    if not callable(builder):
        raise ConfigError(f"model._target_={path}: {module_name or path} has no function {name}", "model._target_")
    return builder


def declared(builder: Callable[..., Any]) -> Tuple[Set[str], bool]:
    """The keyword parameters a builder declares, and whether it takes any (**kwargs)."""
    params = inspect.signature(builder).parameters.values()
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def offered(model: Any, act: str, reg: Any, shape: Shape) -> Dict[str, Any]:
    """Everything sweep offers the builder (sweep.models.contract)."""
    common = dict(zip(OFFERED, (tuple(shape.image), int(shape.classes), act, Reg.of(reg)), strict=True))
    return {**common, **own_keys(model)}


def call(builder: Callable[..., Any], arguments: Dict[str, Any], dropout_rng: str = "keras") -> Any:
    """Call the builder with the arguments it declares (all of them for **kwargs)."""
    from sweep.models import layers  # Keras loads here: checking a config imports this module without it

    names, anything = declared(builder)
    with layers.dropout_rng(dropout_rng):
        return builder(**{k: v for k, v in arguments.items() if anything or k in names})


def build(model: Any, act: str, reg: Any, dropout_rng: str, shape: Shape) -> Any:
    """The option's uncompiled net for images of `shape`: the builder called with what it declares."""
    return call(load(target(model)), offered(model, act, reg, shape), dropout_rng)
