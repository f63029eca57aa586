"""The search space, in Hydra's override grammar with the meaning Hydra's Optuna sweeper gives it.

`interval(a,b)` is a uniform float in [a, b], `tag(log, interval(a,b))` its log-uniform twin; `tag(int, ...)`, or an
interval over a key whose value is an integer, draws integers. `range(a,b[,step])` is an integer (or float) range that,
as in Hydra's Optuna sweeper and unlike the basic sweeper, includes b; `shuffle(range(...))`, `choice(...)`, `a,b`
and `glob(...)` over a config group are categorical. Plain values pass through to every trial unchanged.
"""

import hashlib
from dataclasses import dataclass, field
from typing import Any, Dict, List

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig
from optuna.distributions import BaseDistribution, CategoricalDistribution, distribution_to_json

from sweep.search.distributions import distribution, plain

PREFIXES = {"ADD": "+", "FORCE_ADD": "++"}


@dataclass
class Space:
    """What Optuna draws (one distribution a key, in the order given) and what every trial gets as it is."""

    distributions: Dict[str, BaseDistribution] = field(default_factory=dict)
    texts: Dict[str, Dict[Any, str]] = field(default_factory=dict)  # categorical choice -> its override text
    prefixes: Dict[str, str] = field(default_factory=dict)  # "+" where a trial adds the key to the config
    fixed: List[str] = field(default_factory=list)

    def overrides(self, params: Dict[str, Any]) -> List[str]:
        """A trial's overrides: its drawn values, then the fixed ones."""
        drawn = [f"{self.prefixes.get(k, '')}{k}={self._text(k, params[k])}" for k in self.distributions]
        return drawn + self.fixed

    def name(self, params: Dict[str, Any]) -> str:
        """A trial's run name, its values in the order of the space: `act=tanh train.learning_rate=0.003112`."""
        return " ".join(f"{k}={_shown(params[k])}" for k in self.distributions)

    def examples(self) -> List[List[str]]:
        """Configs that reach every bound and choice of the space (the others at their first), to check ahead."""
        corners = {k: _corners(d) for k, d in self.distributions.items()}
        first = {k: values[0] for k, values in corners.items()}
        out = [self.overrides(first)]
        for key, values in corners.items():
            out += [self.overrides({**first, key: v}) for v in values[1:]]
        return out

    def digest(self) -> str:
        """A short hash of the space and the fixed overrides (part of the default study name)."""
        parts = [f"{k}:{distribution_to_json(d)}" for k, d in self.distributions.items()] + sorted(self.fixed)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]

    def _text(self, key: str, value: Any) -> str:
        return self.texts[key][value] if key in self.texts else plain(value)


def parse(arguments: List[str], config: DictConfig, loader: Any = None) -> Space:
    """The space of `arguments` (hydra.sweeper.params first, then the command line); ValueError names a bad key."""
    space = Space()
    for override in OverridesParser.create(config_loader=loader).parse_overrides(arguments):
        key = override.get_key_element().lstrip("+~")
        if not override.is_sweep_override():
            space.fixed.append(override.input_line)
            continue
        space.distributions[key], texts = distribution(key, override, config)
        if texts:
            space.texts[key] = texts
        space.prefixes[key] = PREFIXES.get(override.type.name, "")
    if not space.distributions:
        raise ValueError(
            "hydra.sweeper.params: nothing to search; give a space such as "
            "'train.learning_rate=tag(log,interval(1e-4,1e-1))' 'act=choice(relu,tanh)'"
        )
    return space


def _corners(distribution: BaseDistribution) -> List[Any]:
    if isinstance(distribution, CategoricalDistribution):
        return list(distribution.choices)
    return [distribution.low, distribution.high]


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
