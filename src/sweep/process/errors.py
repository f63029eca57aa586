"""A job's failure as it crosses to the launching process: its type and message, nothing that needs TensorFlow."""

NO_PARENT = (
    "SWEEP_PARENT_RUN_ID: this multirun job has no parent run (the sweep's setup did not run: is "
    "hydra.callbacks.mlflow_sweep set?); no run was created"
)


class SetupExit(SystemExit):
    """A failure that is the same in every job of a sweep: it stops the whole sweep, and is told once.

    A SystemExit passes Hydra's launchers and joblib's workers (which hand it back to the launching process); the
    entry point prints its message there, once, however many jobs raised it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message

    def __reduce__(self):  # pickled by joblib's workers: rebuilt from the message alone
        return (SetupExit, (self.message,))


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
