"""Which jobs may train together in one compiled loop (a fused job), decided without TensorFlow.

Cells train together when they share everything that shapes their batches and their program but the activation
and the learning rate: the same data, split, batch size, epochs, seed and speed settings, and the same layer stack.
Each keeps its own weights, Adam and metrics (sweep.training.loop). The launcher groups jobs by their override
strings (`together`) and the job process checks their composed configs (`shared`) before it fuses them.
"""

import hashlib
import json
from typing import Any, Sequence, Tuple

from omegaconf import OmegaConf

from sweep.config.cells import TRACKING_ONLY, is_study_mlp

FUSABLE = ("act", "train.learning_rate")  # what cells trained together may differ in


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def together(overrides: Sequence[str]) -> Tuple[str, ...]:
    """A job's overrides without those of FUSABLE keys: jobs alike in this may train together."""
    return tuple(o for o in overrides if _key(o) not in FUSABLE and not _key(o).startswith("act."))


def shared(cfg: Any) -> str:
    """A digest of what cells trained together must share: the config without FUSABLE keys and tracking-only keys."""
    values = OmegaConf.to_container(cfg, resolve=True)
    for key in (*TRACKING_ONLY, "act"):
        values.pop(key, None)
    values.get("train", {}).pop("learning_rate", None)
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def in_graph(model: Any) -> bool:
    """Whether the in-graph loop may train this model: the study's MLP (any widths), not a CNN or a user's net."""
    return is_study_mlp(model)  # the one model the in-graph loop and fusion are proven exact for (test_fused.py)


def can_fuse(cfg: Any) -> bool:
    """Whether a cell can train beside others: only the in-graph loop trains several nets at once, MLPs only."""
    return cfg.speed.loop == "in_graph" and in_graph(cfg.model)
