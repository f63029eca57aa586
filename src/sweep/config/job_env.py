"""Hand values to jobs through `hydra.job.env_set` overrides, which Hydra sets around each job in any process."""

import re
from typing import Any, List


def env_overrides(env: dict) -> List[str]:
    """`hydra.job.env_set` overrides that set `env` around every job, in whichever process runs it."""
    return [f"++hydra.job.env_set.{key}={quoted(value)}" for key, value in env.items()]


def quoted(value: Any) -> str:
    """`value` as a quoted string of Hydra's override grammar that reads back unchanged (no interpolation)."""
    # OmegaConf would resolve ${...}: escape it, and double the backslashes before it so they stay literal
    text = re.sub(r"(\\*)\$\{", lambda m: m.group(1) * 2 + "\\${", str(value))
    # In Hydra's quoted strings only backslashes before a quote or the end escape: double those, escape the quotes
    text = re.sub(r"(\\*)('|\Z)", lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), text)
    return f"'{text}'"
