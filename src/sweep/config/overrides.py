"""Check command-line overrides before Hydra starts, so that a typo gets one line naming the key and what is allowed.

It composes as Hydra will: with the user's `--config-dir` and `hydra.searchpath` folders and `--config-name`.
"""

import os
import re
from typing import List, Optional

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

from sweep.config import options
from sweep.config.checks import validate
from sweep.config.schema import ConfigError

HYDRA_FLAGS_WITH_VALUE = {
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--info",
    "-i",
    "--experimental-rerun",
}
SEARCHPATH = re.compile(r"^\+{0,2}hydra\.searchpath=")


def user_overrides(argv: List[str]) -> List[str]:
    """The key=value arguments of argv that configure sweep (not Hydra's own flags or hydra.* keys)."""
    out, skip = [], False
    for arg in argv:
        if skip or arg.startswith("-"):
            skip = arg in HYDRA_FLAGS_WITH_VALUE
            continue
        if "=" in arg and not re.match(r"^[+~]*hydra[./]", arg):
            out.append(arg)
    return out


def flag(argv: List[str], long: str, short: str) -> Optional[str]:
    """The value of one of Hydra's flags (`--config-dir DIR`, `-cd DIR` or `--config-dir=DIR`), else None."""
    for i, arg in enumerate(argv):
        if arg in (long, short) and i + 1 < len(argv):
            return argv[i + 1]
        for name in (long, short):
            if arg.startswith(name + "="):
                return arg[len(name) + 1 :]
    return None


def searchpath(argv: List[str]) -> List[str]:
    """The extra config folders Hydra will search: `--config-dir` first, then `hydra.searchpath`'s entries."""
    extra = []
    config_dir = flag(argv, "--config-dir", "-cd")
    if config_dir is not None:
        extra.append(f"file://{os.path.abspath(config_dir)}")
    for arg in argv:
        if SEARCHPATH.match(arg):
            extra += list(OverridesParser.create().parse_override(arg).value() or [])
    return extra


def quoted(value) -> str:
    """`value` as a quoted string of Hydra's override grammar that reads back unchanged (no interpolation)."""
    # OmegaConf would resolve ${...}: escape it, and double the backslashes before it so they stay literal
    text = re.sub(r"(\\*)\$\{", lambda m: m.group(1) * 2 + "\\${", str(value))
    # In Hydra's quoted strings only backslashes before a quote or the end escape: double those, escape the quotes
    text = re.sub(r"(\\*)('|\Z)", lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), text)
    return f"'{text}'"


def env_overrides(env: dict) -> List[str]:
    """`hydra.job.env_set` overrides that set `env` around every job, in whichever process runs it."""
    return [f"++hydra.job.env_set.{key}={quoted(value)}" for key, value in env.items()]


def _trials(overrides: List[str]) -> List[List[str]]:
    """One override list per value of each swept key (others at their first value): linear, not the product."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    trials = [fixed]
    for o in parsed:
        if o.is_sweep_override() and o.is_discrete_sweep() and not isinstance(o.value(), Glob):
            trials += [fixed + [f"{o.get_key_element()}={v}"] for v in o.sweep_string_iterator()]
    return trials


def keys(overrides: List[str]) -> List[str]:
    """The dotted keys (or groups) that overrides set."""
    return [o.partition("=")[0].lstrip("+~") for o in overrides]


def _first_problem(config_name: str, overrides: List[str], path: List[str]) -> Optional[str]:
    for trial in _trials(overrides):
        cfg = compose(config_name=config_name, overrides=trial + path, return_hydra_config=True)
        try:
            validate(cfg)
        except ConfigError as exc:
            return options.in_file(exc, cfg, keys(trial))
    return None


def check(argv: List[str], conf_dir: str, config_name: str = "config") -> Optional[str]:
    """Compose the config once per override value; return one error line for the first failure, else None."""
    overrides, extra = user_overrides(argv), searchpath(argv)
    config_dir = flag(argv, "--config-dir", "-cd")
    if config_dir is not None and not os.path.isdir(config_dir):
        return f"--config-dir: {os.path.abspath(config_dir)} is not a directory"
    if not overrides and not extra:
        return None
    path = [f"hydra.searchpath=[{','.join(quoted(p) for p in extra)}]"] if extra else []
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        name, defaults = flag(argv, "--config-name", "-cn") or config_name, None
        try:
            defaults = compose(config_name=name, overrides=path)
            return _first_problem(name, overrides, path)
        except OverrideParseException as exc:
            return f"cannot parse the overrides: {str(exc).splitlines()[0]}"
        except (ConfigCompositionException, MissingConfigException, ConfigError, yaml.YAMLError) as exc:
            return options.one_line(exc, defaults, extra)
