"""A job's failure as it crosses to the launching process: its type and message, nothing that needs TensorFlow."""

NO_PARENT = (
    "SWEEP_PARENT_RUN_ID: this multirun job has no parent run (the sweep's setup did not run: is "
    "hydra.callbacks.mlflow_sweep set?); no run was created"
)


class JobFailed(RuntimeError):
    """A multirun job raised `<type>: <message>`; its run in MLflow holds the reason and the traceback.

    Joblib and Ray pickle a job's exception back to the launching process, where unpickling a TensorFlow or Keras
    error (or ours, defined beside Keras code) would import TensorFlow there: 4-7 s, and its C++ start-up lines
    written straight to the terminal, through the sweep's live display.
    """

    @classmethod
    def of(cls, exc: BaseException) -> "JobFailed":
        """The same failure, told in words."""
        return cls(f"{type(exc).__name__}: {exc}")
