"""A grid's job configs composed once per set of group choices equal Hydra's own composition of every job."""

import pytest
from hydra import compose, initialize_config_dir
from hydra._internal.callbacks import Callbacks
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from hydra.types import HydraContext
from hydra.utils import get_class
from omegaconf import OmegaConf

from sweep.config import compose_jobs as composing
from tests.conftest import CONF

COMMON = ["data=fashion_mnist", "data.limit=100", "train.epochs=1"]
GRID = [
    [f"reg={reg}", "act=tanh", *COMMON, f"train.seed={seed}", f"model.hidden={hidden}", f"train.learning_rate={rate}"]
    for reg in ("none", "dropout")
    for seed in (0, 7)
    for hidden in ("[64]", "[32,16]")
    for rate in ("0.01", "'${train.validation_split}'")
]
OTHERS = [  # each of these shapes goes through Hydra whole: an added key, a deleted one, a dict value, hydra's node
    ["reg=none", "act=tanh", *COMMON, "+extra=3"],
    ["reg=none", "act=tanh", *COMMON, "~retrain"],
    ["reg=none", "act=tanh", *COMMON, "train={seed: 5}"],
    ["reg=dropout", "act=tanh", *COMMON, "reg.dropout=0.3", "reg={dropout: 0.1}"],  # a dict on a group's key
    ["reg=dropout", "act=tanh", *COMMON, "reg.dropout=0.4", "reg={dropout: 0.1}"],  # (merged after the value)
    ["reg=none", "act=tanh", *COMMON, "hydra.job.chdir=true", "train.seed=2"],
]


@pytest.fixture(scope="module")
def hydra():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        master = compose(config_name="config", return_hydra_config=True)
        yield GlobalHydra.instance().config_loader(), master


def plain(cfg) -> dict:
    return OmegaConf.to_container(cfg, resolve=False)


def resolved(cfg) -> dict:
    """The job's own keys with every interpolation resolved (Hydra's node needs a running job for that)."""
    own = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    return OmegaConf.to_container(own, resolve=True)


def test_every_job_equals_hydras_composition_of_it(hydra):
    loader, master = hydra
    composer = composing.composer(loader, master)
    for job in GRID + OTHERS + GRID[::-1]:
        ours, theirs = composer(job), loader.load_sweep_config(master, job)
        assert plain(ours) == plain(theirs), job
        assert OmegaConf.is_struct(ours) and resolved(ours) == resolved(theirs)
    # Hydra composed the first job of each set of choices, which the rest reused; never one with +, ~ or a dict
    choices = ("act=tanh", "data=fashion_mnist")
    assert {shape[0] for shape in composer.first} == {
        ("reg=none", *choices),
        ("reg=dropout", *choices),
        ("reg=none", *choices, "hydra.job.chdir=true"),
    }
    quick = composer(GRID[1])  # reused: Hydra's record of the overrides is this job's own
    assert (
        OmegaConf.to_container(quick.hydra.overrides.task) == GRID[1]
        and "train.learning_rate=" in quick.hydra.job.override_dirname
    )


BAD = [*GRID[0][:-3], "train.seed=seven", *GRID[0][-2:]]


def test_a_bad_value_fails_as_hydra_fails(hydra):
    loader, master = hydra
    composer = composing.composer(loader, master)
    composer(GRID[0])  # the shape is known: the next job takes the quick path
    for bad, named in ((BAD, "train.seed=seven"), ([*GRID[0][:-1], "train.learning_rate=0.1,0.2"], "Ambiguous")):
        with pytest.raises(HydraException) as ours:
            composer(bad)
        with pytest.raises(HydraException) as theirs:
            loader.load_sweep_config(master, bad)
        assert str(ours.value) == str(theirs.value) and named in str(ours.value)


def test_the_default_sweeper_checks_its_batches_so(hydra):
    # sweep's default grid sweeper is Hydra's basic one, checking each batch with the composer before launching it
    loader, master = hydra
    assert master.hydra.sweeper._target_ == "hydra_plugins.sweep_sweepers.grid.GridSweeper"
    # the class as Hydra finds it: its plugin scan re-executes plugin modules, Hydra's basic sweeper's among them
    sweeper = get_class(master.hydra.sweeper._target_)(max_batch_size=None)
    sweeper.config, sweeper.hydra_context = master, HydraContext(config_loader=loader, callbacks=Callbacks())
    sweeper.validate_batch_is_legal(GRID)
    with pytest.raises(HydraException, match="train.seed=seven"):
        sweeper.validate_batch_is_legal([GRID[0], BAD])


def test_a_job_composed_once_is_known_to_the_grids_check_and_a_failed_one_is_not(hydra):
    loader, master = hydra
    composer = composing.composer(loader, master)
    job, other = GRID[0], ["reg=dropout", "act=relu", *COMMON]
    composer(job)
    assert composing.known(loader, master, job) and not composing.known(loader, master, other)
    assert not composing.known(type("Loader", (), {})(), master, job)  # another loader: another multirun
    with pytest.raises(HydraException):
        composer(["reg=no_such_option", *COMMON])
    assert not composing.known(loader, master, ["reg=no_such_option", *COMMON])
