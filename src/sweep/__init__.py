"""sweep: a tracked, comparable Hydra + MLflow hyperparameter sweep of a Keras MLP study."""

__version__ = "0.1.0"
