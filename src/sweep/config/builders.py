"""The user model options (a `_target_` builder) a multirun's jobs compose, each distinct one kept once.

The launching process builds each of them once before any run exists (sweep.models.check, called from the
multirun's setup, which sits above both this package and the models).
"""

import json
from typing import Any, Dict, List, Optional

from omegaconf import OmegaConf


def spec(job_cfg: Any) -> Optional[dict]:
    """What checking a job's user builder needs: label, model, act, reg and data; None for a built-in model."""
    if not job_cfg.model.get("_target_"):
        return None
    label = job_cfg.hydra.runtime.choices.get("model") if "hydra" in job_cfg else None
    data = OmegaConf.to_container(job_cfg.data, resolve=True)
    return {
        "label": label or job_cfg.model.name,
        "model": job_cfg.model,
        "act": job_cfg.act.name,
        "reg": job_cfg.reg,
        "data": data,
    }


class Specs:
    """The distinct user model options of the jobs added, in the order first seen."""

    def __init__(self) -> None:
        self.seen: Dict[str, dict] = {}

    def add(self, job_cfg: Any) -> None:
        """Keep the job's user model option unless an alike one (same model, act, reg, data) is kept."""
        found = spec(job_cfg)
        if found:
            plain = {k: OmegaConf.to_container(v) if OmegaConf.is_config(v) else v for k, v in found.items()}
            self.seen.setdefault(json.dumps(plain, sort_keys=True), found)

    def all(self) -> List[dict]:
        """Every distinct one."""
        return list(self.seen.values())
