"""sweep's sweepers for any Hydra app (not only sweep.train): the task's return value as the objective, pruning
from inside the task (`sweep.report`), races over the app's own seed key, and optional MLflow tracking."""
