"""Check command-line overrides before Hydra starts, so that a typo gets one line naming the key and what is allowed."""

import re
from typing import List, Optional

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import OmegaConf

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


def _trials(overrides: List[str]) -> List[List[str]]:
    """One override list per value of each swept key (others at their first value): linear, not the product."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    trials = [fixed]
    for o in parsed:
        if o.is_sweep_override() and o.is_discrete_sweep() and not isinstance(o.value(), Glob):
            trials += [fixed + [f"{o.get_key_element()}={v}"] for v in o.sweep_string_iterator()]
    return trials


def one_line(exc: Exception, defaults) -> str:
    """One line naming the key (and what is allowed) for a failed composition; `defaults` lists the known keys."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, MissingConfigException) and exc.options:
        group, _, value = str(exc.missing_cfg_file).rpartition("/")
        return f"{group}: unknown option {value!r}; allowed: {', '.join(exc.options)}"
    cause = exc.__cause__ or exc
    text = str(cause)
    key = re.search(r"full_key: (\S+)", text)
    key = key.group(1) if key else "config"
    first = text.splitlines()[0]
    if "not in" in first:
        parent = OmegaConf.select(defaults, key.rpartition(".")[0]) if "." in key else defaults
        known = ", ".join(k for k in parent.keys() if k != "hydra") if parent is not None else "?"
        return f"{key}: unknown key; known keys here: {known}"
    return f"{key}: {first}"


def sweeper_overrides(argv: List[str]) -> List[str]:
    """The command line's hydra/sweeper choice and hydra.sweeper.* keys, checked like the app's own keys."""
    return [arg for arg in argv if re.match(r"^[+~]*hydra[./]sweeper\b", arg)]


def _check_sweeper(config_name: str, sweeper: List[str]) -> None:
    chosen = [arg for arg in sweeper if arg.startswith("hydra/sweeper=")]
    defaults = compose(config_name=config_name, overrides=chosen, return_hydra_config=True)
    try:
        compose(config_name=config_name, overrides=sweeper, return_hydra_config=True)
    except ConfigCompositionException as exc:
        raise ConfigError(one_line(exc, defaults)) from None
    except Exception as exc:  # noqa: BLE001 - OmegaConf's own failure to apply an override (e.g. under a null node)
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"hydra.sweeper: cannot apply {' '.join(sweeper)} ({first})") from None


def check(argv: List[str], conf_dir: str, config_name: str = "config") -> Optional[str]:
    """Compose the config once per override value; return one error line for the first failure, else None."""
    overrides, sweeper = user_overrides(argv), sweeper_overrides(argv)
    if not overrides and not sweeper:
        return None
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        defaults = compose(config_name=config_name)
        try:
            if sweeper:
                _check_sweeper(config_name, sweeper)
            for trial in _trials(overrides):
                validate(compose(config_name=config_name, overrides=trial))
        except OverrideParseException as exc:
            return f"cannot parse the overrides: {str(exc).splitlines()[0]}"
        except (ConfigCompositionException, MissingConfigException, ConfigError) as exc:
            return one_line(exc, defaults)
    return None
