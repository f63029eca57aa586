"""The warm-up starts the very pool that Hydra's joblib launcher will use; jobs get the context from their config."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import instantiate
from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
from omegaconf import OmegaConf

from sweep.launch import warmup
from tests.conftest import CONF


def _hydra_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=True)


def test_warm_pool_has_the_arguments_hydras_launcher_gives_joblib():
    # joblib reuses a worker pool only when every argument is the same; compare with the launcher Hydra builds
    cfg = _hydra_cfg("hydra.launcher.n_jobs=3", "hydra.launcher.max_nbytes=1000")
    launcher = instantiate(cfg.hydra.launcher)
    expected = dict(launcher.joblib, backend="loky")
    process_joblib_cfg(expected)
    assert warmup.joblib_args(cfg) == expected
    assert expected["n_jobs"] == 3 and expected["max_nbytes"] == 1000


def test_no_warm_up_for_other_launchers_one_worker_or_fewer_jobs_than_workers():
    data = {"name": "fashion_mnist", "path": None, "limit": None}
    assert warmup.joblib_args(_hydra_cfg("hydra/launcher=basic")) is None
    assert warmup.start(_hydra_cfg("hydra/launcher=basic"), 32, data) is False
    assert warmup.start(_hydra_cfg("hydra.launcher.n_jobs=1"), 32, data) is False  # joblib runs jobs in-process
    assert warmup.start(_hydra_cfg("hydra.launcher.n_jobs=4"), 3, data) is False  # a worker would stay cold


@pytest.mark.parametrize(
    "value",
    [
        "sqlite:////tmp/a b/x.db",
        "reg,act",
        "it's",
        "C:\\runs\\",
        "a\\'b",
        "${oc.env:HOME}",
        "a\\${x}",
        "a\\\n",
        "",
        "h:5000",
    ],
)
def test_context_values_reach_the_job_config_unchanged(value):
    (override,) = warmup.env_overrides({"SWEEP_X": value})
    parsed = OverridesParser.create().parse_override(override)
    assert parsed.key_or_group == "hydra.job.env_set.SWEEP_X"
    assert OmegaConf.create({"v": parsed.value()}).v == value  # no interpolation, no lost backslash
