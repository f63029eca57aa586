"""Check the sweeper's command-line settings (`hydra/sweeper=...`, `hydra.sweeper.*`) before Hydra starts: one line.

Hydra itself answers a typo there with several lines and exit 1; sweep.config.overrides checks every other key.
"""

import re
from typing import List, Optional

from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

from sweep.config import overrides

SWEEPER = re.compile(r"^[+~]*hydra(/sweeper=|\.sweeper\.)")


def check(argv: List[str], conf_dir: str, config_name: str = "config") -> Optional[str]:
    """Compose the config with the sweeper's overrides from argv; return one error line, or None if they are fine."""
    chosen = [a for a in argv if SWEEPER.match(a)]
    if not chosen:
        return None
    extra = overrides.searchpath(argv)  # a sweeper's option may be a file in the user's config folders
    path = [f"hydra.searchpath=[{','.join(overrides.quoted(p) for p in extra)}]"] if extra else []
    name = overrides.flag(argv, "--config-name", "-cn") or config_name
    choice = [a for a in chosen if "/sweeper=" in a] + path
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        try:
            known = list(compose(name, overrides=choice, return_hydra_config=True).hydra.sweeper)
            compose(name, overrides=chosen + path, return_hydra_config=True)
        except MissingConfigException as exc:
            value = str(exc.missing_cfg_file).rpartition("/")[2]
            return f"hydra/sweeper: unknown option {value!r}; allowed: {', '.join(exc.options or [])}"
        except OverrideParseException as exc:
            return f"cannot parse the overrides: {str(exc).splitlines()[0]}"
        except ConfigCompositionException as exc:
            text = str(exc.__cause__ or exc)
            found = re.search(r"full_key: (\S+)", text)
            key = found.group(1) if found else "hydra.sweeper"
            if "not in" in text.splitlines()[0]:
                return f"{key}: unknown key; known keys here: {', '.join(k for k in known if k != '_target_')}"
            return f"{key}: {text.splitlines()[0]}"
    return None
