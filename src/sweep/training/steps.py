"""The steps of a cell's job around its training, alone or beside others: data, build, results."""

from typing import Any, Dict, Optional

import keras
from omegaconf import OmegaConf

from sweep import data
from sweep.config import cells
from sweep.tracking import models, runs, store, study
from sweep.training import curves, export, identity, model
from sweep.training.cell import Cell, JobContext
from sweep.training.runtime import Phases, peak_rss_mb, settle_memory


def load_data(cfg: Any) -> data.Dataset:
    """The job's data set, loaded and normalized once per process."""
    return data.load(cfg.data.name, cfg.data.path, cfg.data.limit)


def params(cfg: Any, ctx: JobContext, shape: data.Shape) -> Dict[str, Any]:
    """The run's params: the flattened config, each group's option by its group's name, the data's shape."""
    flat = runs.flatten(OmegaConf.to_container(cfg, resolve=True))
    return {**flat, **ctx.choices, "data.image_shape": cells.text(shape.image), "data.classes": shape.classes}


def settle() -> None:
    """Before a job's models: Keras' state dropped, the last job's garbage collected, what survives frozen."""
    keras.backend.clear_session(free_memory=False)
    settle_memory()


def build(cell: Cell, phases: Phases, run_id: Optional[str] = None) -> keras.Model:
    """Build the cell's net afresh, seeded, as the study did; log its params (to its run, or the active one).

    The params add `model_params`, the net's parameter count.
    """
    cfg, shape = cell.cfg, data.shape(data.raw(cell.cfg.data.name, cell.cfg.data.path))
    with phases("build"):
        keras.backend.clear_session(free_memory=False)  # Keras' names and seeds start over, as in a process alone
        keras.utils.set_random_seed(cfg.train.seed)
        net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, model.speed_for(cfg)[0], shape)
    with phases("log_params"):
        runs.log_params({**params(cfg, cell.ctx, shape), "model_params": net.count_params()}, run_id)
    return net


def log_results(
    cell: Cell, net: keras.Model, history: Dict[str, list], final: dict, phases: Phases, pruned: Optional[int] = None
) -> Dict[str, float]:
    """Into the cell's active run: its final metrics, learning curves, Hydra's files, the model and its phases.

    A search trial its pruner stopped (`pruned`: the epoch) gets the tag pruned_at_epoch and no model: it is not a
    full-length result. Every run gets the tag weights_hash (sweep.training.identity), by which a race finds twins.
    Returns the final metrics with the last epoch's (already logged per epoch).
    """
    stored = data.raw(cell.cfg.data.name, cell.cfg.data.path)  # as stored: the logged model takes these images
    with phases("log_metrics"):
        runs.log_final(final)
        runs.set_tags({store.TAG_WEIGHTS: identity.weights_hash(net), **({study.TAG_PRUNED: pruned} if pruned else {})})
    with phases("log_plots"):
        runs.log_figures(curves.learning_curves(history, cell.run_name))
    with phases("log_config"):
        runs.log_config_files(cell.ctx.config_dir)
    if not pruned:
        with phases("log_model"):
            models.log_model(export.serving_model(net, data.shape(stored).image), stored.x_test[:5])  # raw images
    runs.log_final({**phases.seconds, "peak_rss_mb": peak_rss_mb()})
    return {**{k: v[-1] for k, v in history.items()}, **final}
