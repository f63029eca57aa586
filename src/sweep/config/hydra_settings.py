"""Check Hydra's own settings from the command line (`hydra/launcher=…`, `hydra.launcher.n_jobs=…`, …) before Hydra
starts: a typo gets one line naming the key, and a value the launcher or sweeper would refuse only once the sweep is
under way (joblib's `n_jobs=0`, the basic sweeper's `max_batch_size=0`) is refused first.

sweep.config.overrides checks sweep's own keys; a sweeper of ours checks its own options (its `plan`).
"""

import re
from typing import Any, List, Optional

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import OmegaConf

from sweep.config import overrides

HYDRA = re.compile(r"^[+~]*hydra[./]")
JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
FUSED = "hydra_plugins.sweep_launchers.fused_launcher.FusedLauncher"  # joblib's, with `fuse` (hydra/launcher=parallel)
RAY = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
GRID_SWEEPERS = (BASIC_SWEEPER, "hydra_plugins.sweep_sweepers.grid.GridSweeper")  # Hydra's, and ours (its subclass)
JOBLIB_BACKENDS = ("loky", "threading", "multiprocessing")


def hydra_overrides(argv: List[str]) -> List[str]:
    """The `hydra…=` arguments of argv, but hydra.searchpath (sweep.config.overrides composes with it)."""
    return [a for a in argv if HYDRA.match(a) and not overrides.SEARCHPATH.match(a)]


def check(argv: List[str], conf_dir: str, config_name: str = "config") -> Optional[str]:
    """Compose with Hydra's settings from argv; return one error line, or None when Hydra would take them."""
    chosen = hydra_overrides(argv)
    if not chosen:
        return None
    extra = overrides.searchpath(argv)  # a launcher's or sweeper's option may be a file in the user's folders
    path = [f"hydra.searchpath=[{','.join(overrides.quoted(p) for p in extra)}]"] if extra else []
    name = overrides.flag(argv, "--config-name", "-cn") or config_name
    groups = [a for a in chosen if "=" in a and "/" in a.partition("=")[0]]
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        known = None
        try:
            known = compose(name, overrides=groups + path, return_hydra_config=True).hydra  # names the keys there
            return settings(compose(name, overrides=chosen + path, return_hydra_config=True).hydra)
        except MissingConfigException as exc:
            group, _, value = str(exc.missing_cfg_file).rpartition("/")
            return f"{group}: unknown option {value!r}; allowed: {', '.join(exc.options or [])}"
        except OverrideParseException as exc:
            return f"cannot parse the overrides: {str(exc).splitlines()[0]}"
        except ConfigCompositionException as exc:
            return _composition(exc, known)
        except Exception as exc:  # noqa: BLE001 - OmegaConf's own failure to apply one (under a null node, say)
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            return f"hydra: cannot apply {' '.join(chosen)} ({first})"


def _composition(exc: Exception, known: Any) -> str:
    text = str(exc.__cause__ or exc)
    found = re.search(r"full_key: (\S+)", text) or re.search(r"Could not override '([^']+)'", text)
    key = found.group(1) if found else "hydra"
    if "not in" in text or "Could not override" in text:
        node = OmegaConf.select(OmegaConf.create({"hydra": known}), key.rpartition(".")[0]) if known else None
        names = ", ".join(k for k in node.keys() if k != "_target_") if hasattr(node, "keys") else "?"
        return f"{key}: unknown key; known keys here: {names}"
    return f"{key}: {text.splitlines()[0]}"


def settings(hydra: Any) -> Optional[str]:
    """The first value of the launcher's or the sweeper's settings that it would refuse later, as one line."""
    launcher, sweeper = hydra.launcher, hydra.sweeper
    if launcher.get("_target_") == FUSED:
        fuse = launcher.get("fuse")
        if not isinstance(fuse, int) or isinstance(fuse, bool) or fuse < 1:
            return f"hydra.launcher.fuse must be an integer >= 1 (1: every cell alone), got {fuse!r}"
    if launcher.get("_target_") in (JOBLIB, FUSED):
        n_jobs = launcher.get("n_jobs")
        if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
            return f"hydra.launcher.n_jobs must be a non-zero integer (-1: one job per core), got {n_jobs!r}"
        backend = launcher.get("backend")
        if backend is not None and backend not in JOBLIB_BACKENDS:
            return f"hydra.launcher.backend must be null or one of {', '.join(JOBLIB_BACKENDS)}, got {backend!r}"
    if launcher.get("_target_") == RAY:
        cpus = OmegaConf.select(launcher, "ray.remote.num_cpus")
        if cpus is not None and not (isinstance(cpus, (int, float)) and cpus > 0):
            return f"hydra.launcher.ray.remote.num_cpus must be a number > 0, got {cpus!r}"
    if sweeper.get("_target_") in GRID_SWEEPERS:
        size = sweeper.get("max_batch_size")
        if size is not None and not (isinstance(size, int) and size >= 1):
            return f"hydra.sweeper.max_batch_size must be null or an integer >= 1, got {size!r}"
    return None


def no_job(config: Any) -> str:
    """The line for a grid without a job: the sweep expression that gives no value."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    loader = GlobalHydra.instance().config_loader()
    for override in OverridesParser.create(config_loader=loader).parse_overrides(list(config.hydra.overrides.task)):
        if override.is_sweep_override() and not any(BasicSweeper.split_arguments([override], None)):
            key, given = override.get_key_element(), override.input_line.partition("=")[2]
            options = loader.get_group_options(key) if "." not in key else []  # a config group's options
            allowed = f"; options there: {', '.join(options)}" if options else ""
            return f"{key}: {given} gives no value, so the sweep has no job{allowed}"
    return "hydra.sweeper.params: the sweep has no job"
