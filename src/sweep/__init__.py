"""sweep: tracked, comparable Hydra + MLflow hyperparameter sweeps of Keras models, and Hydra plugins for any app."""

__version__ = "0.1.0"


def report(step: int, value: float) -> bool:
    """Report a trial's intermediate objective at `step`; true: its search prunes it, so the task should return now.

    For a task launched by `hydra/sweeper=search` (docs/hydra.md). Outside a search it does nothing and returns
    false, importing nothing.
    """
    import os

    from sweep.config import app_kind as kind

    if not os.environ.get(kind.ENV_TRIAL):
        return False
    from sweep.apps import pruning

    return pruning.report(step, value)
