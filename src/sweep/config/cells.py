"""What a cell is: a distinct configuration apart from `train.seed`, whatever keys a sweep varies.

A cell's identity is the composed config without `train.seed` and without the keys that only say where a job is
tracked (TRACKING_ONLY); `cell_hash` digests it, `config_hash` digests it with the seed (one job: resume's key).
A cell's name is `reg=… act=…` followed by every other swept key, in the order they were swept, with the values the
config holds (`reg=none act=relu train.learning_rate=0.01`); a run's name adds `train.seed=N` when seeds are swept.
The factors compare groups by are the swept keys without the seed. docs/architecture.md ("Cells and factors") is
the contract the sweepers build on.
"""

import hashlib
import json
import re
from typing import Any, Dict, List, Mapping, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

SEED = "train.seed"
TRACKING_ONLY = (
    "hydra",
    "mlflow",
    "retrain",
)  # top-level keys that change where a job is tracked, not what it computes
ALWAYS_NAMED = ("reg", "act")  # the study's two groups open every cell name, swept or not
ENV_SWEPT_KEYS = "SWEEP_SWEPT_KEYS"  # the multirun parent hands its jobs the swept keys, comma-separated
STUDY_MODEL = "mlp"  # the study's own MLP (conf/model/mlp.yaml), the default model


def is_study_mlp(model: Any) -> bool:
    """Whether a model option is the built-in MLP (any widths), not the CNN or a user's builder."""
    return model.get("name") == STUDY_MODEL and not model.get("_target_")


def _digest(cfg: Any, drop: Sequence[str]) -> str:
    keys = [k for k in cfg.keys() if k not in TRACKING_ONLY]
    values = OmegaConf.to_container(OmegaConf.masked_copy(cfg, keys), resolve=True)
    for dotted in drop:
        group, _, key = dotted.partition(".")
        values.get(group, {}).pop(key, None)
    model = values.get("model", {})
    if is_study_mlp(model):  # hashed as before the model group: resume finds
        model.pop("name")  # the study's cells trained earlier
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def config_hash(cfg: Any) -> str:
    """A short hash of everything that changes what one job computes, its seed included (not where it is tracked)."""
    return _digest(cfg, ())


def cell_hash(cfg: Any) -> str:
    """A short hash of the cell: everything config_hash covers except `train.seed`."""
    return _digest(cfg, (SEED,))


def text(value: Any) -> str:
    """A config value as names and MLflow params show it: scalars as str(), lists and dicts without spaces."""
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=True)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{text(v)}" for k, v in value.items()) + "}"
    return str(value)


def value(cfg: Any, choices: Mapping[str, Any], key: str) -> str:
    """One key's value in a job's config: a config group's chosen option, else the value at the dotted key."""
    return str(choices[key]) if key in choices else text(OmegaConf.select(cfg, key))


def values(cfg: Any, choices: Mapping[str, Any], swept: Sequence[str]) -> Dict[str, str]:
    """The values that name a cell: reg and act, then every other swept key but the seed."""
    keys = [*ALWAYS_NAMED, *(k for k in swept if k not in ALWAYS_NAMED and k != SEED)]
    return {key: value(cfg, choices, key) for key in dict.fromkeys(keys)}


def name(named: Mapping[str, str]) -> str:
    """A cell's name from its values: `reg=none act=relu train.learning_rate=0.01`."""
    return " ".join(f"{k}={v}" for k, v in named.items())


def run_name(cell: str, cfg: Any, swept: Sequence[str]) -> str:
    """A job run's name: its cell's name, with `train.seed=N` when the sweep varies seeds."""
    return f"{cell} {SEED}={cfg.train.seed}" if SEED in swept else cell


def parse(cell: str) -> Dict[str, str]:
    """The key=value pairs of a cell or run name (values may hold spaces, not a following ` key=`)."""
    return dict(part.split("=", 1) for part in re.split(r" (?=[^\s=]+=)", cell.strip()) if "=" in part)


def swept_keys(config: DictConfig) -> List[str]:
    """The keys a multirun varies, for any sweeper: sweep overrides of the command line or `hydra.sweeper.params`,
    then any keys the sweeper lists in its own `hydra.sweeper.swept_keys` (keys it varies itself, e.g. the seed)."""
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    parsed = OverridesParser.create().parse_overrides(arguments)
    keys = [o.get_key_element().lstrip("+~") for o in parsed if o.is_sweep_override()]
    return list(dict.fromkeys([*keys, *(config.hydra.sweeper.get("swept_keys") or [])]))


def factors(swept: Sequence[str]) -> List[str]:
    """The swept keys compare groups by: all but the seed and the tracking-only keys."""
    return [k for k in swept if k != SEED and k.partition(".")[0] not in TRACKING_ONLY and "/" not in k]


def baseline(config: DictConfig, keys: Sequence[str]) -> Dict[str, str]:
    """Each key's value in a multirun's own config, where Hydra leaves swept keys at their defaults."""
    choices = config.hydra.runtime.choices
    return {key: value(config, choices, key) for key in keys}


def defaults(keys: Sequence[str]) -> Dict[str, str]:
    """Each key's value in the package's default config (conf/config.yaml, nothing overridden)."""
    from hydra import compose, initialize_config_dir

    from sweep.config import CONF_DIR, schema  # noqa: F401  (importing schema registers it)

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return baseline(compose(config_name="config", return_hydra_config=True), keys)
