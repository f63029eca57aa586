"""Where a config group's option comes from, and one error line for a config that does not compose or check.

A user's options live in their own folders (`--config-dir DIR`, `hydra.searchpath=[…]`): an error in one of their
files names that file.
"""

import re
from pathlib import Path
from typing import Any, List, Optional, Sequence

import yaml
from hydra._internal.sources_registry import SourcesRegistry
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import MissingConfigException
from omegaconf import OmegaConf

from sweep.config import activations
from sweep.config.schema import ConfigError


def _sources(searchpath: Sequence[str]) -> List[Any]:
    """Hydra's config sources in lookup order: the app's (its conf/, --config-dir), then hydra.searchpath's."""
    found = (
        list(GlobalHydra.instance().config_loader().get_sources()) if GlobalHydra.instance().is_initialized() else []
    )
    for entry in searchpath:
        scheme = entry.split("://", 1)[0] if "://" in entry else "file"
        found.append(SourcesRegistry.instance().resolve(scheme)("hydra.searchpath", entry))
    return found


def option_file(group: str, option: str, searchpath: Sequence[str] = ()) -> Optional[str]:
    """The file that Hydra composes for `group=option` (None for options registered in code)."""
    for source in _sources(searchpath):
        if source.scheme() != "structured" and source.available() and source.is_config(f"{group}/{option}"):
            where = source.path if source.scheme() == "file" else source.full_path()
            return f"{where}/{group}/{option}.yaml"
    return None


def unknown_option(group: str, option: str, allowed: Sequence[str]) -> str:
    """The line for an option no config folder has, saying how to add one."""
    line = f"{group}: unknown option {option!r}; allowed: {', '.join(allowed)}"
    line += f"; to add one, put {group}/{option}.yaml in a folder given with --config-dir"
    if group == "act":
        line += f", holding `name: <activation>`; Keras offers: {', '.join(activations.known())}"
    return line


def in_file(exc: ConfigError, cfg: Any, overridden: Sequence[str]) -> str:
    """The check's error, naming the option file its key came from (unless the command line set that key)."""
    group = (exc.key or "").partition(".")[0]
    choices = cfg.hydra.runtime.choices if "hydra" in cfg else {}
    if group not in choices or exc.key in overridden:
        return str(exc)
    file = option_file(group, choices[group], list(cfg.hydra.searchpath))
    return f"{exc} (in {file})" if file else str(exc)


def one_line(exc: Exception, defaults: Any, searchpath: Sequence[str] = ()) -> str:
    """One line for a composition error: the key, what is wrong, and the option file it came from."""
    if isinstance(exc, MissingConfigException) and exc.options:
        group, _, option = str(exc.missing_cfg_file).rpartition("/")  # hydra/sweeper/nope: group hydra/sweeper
        return unknown_option(group, option, exc.options)
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        file = Path(exc.problem_mark.name)
        return f"{file.parent.name}: {file} is not valid YAML: {exc.problem} (line {exc.problem_mark.line + 1})"
    text = str(exc.__cause__ or exc)
    lines = text.splitlines() or [type(exc).__name__]
    origin = re.match(r"In '([^'/]+)/([^']+)': ", lines[0])  # Hydra names the group/option whose file failed
    file = option_file(origin.group(1), origin.group(2), searchpath) if origin else None
    detail = lines[1].strip() if origin and len(lines) > 1 else lines[0]
    found = re.search(r"full_key: (\S+)", text)
    key = found.group(1) if found else "config"
    where = f" (in {file})" if file else ""
    if re.search(r"Key '[^']+' not in '", detail):
        return f"{key}: unknown key{where}; known keys here: {_known_keys(defaults, key)}"
    return f"{key}: {detail}{where}"


def _known_keys(defaults: Any, key: str) -> str:
    if defaults is None:
        return "?"
    parent = OmegaConf.select(defaults, key.rpartition(".")[0]) if "." in key else defaults
    return ", ".join(k for k in parent.keys() if k != "hydra") if parent is not None else "?"
