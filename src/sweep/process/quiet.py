"""Import TensorFlow and Keras without their C++ start-up chatter (set TF_CPP_MIN_LOG_LEVEL=0 to see it)."""

import os
import sys


def import_tensorflow() -> None:
    """Import tensorflow and keras once, with file descriptor 2 muted unless TF_CPP_MIN_LOG_LEVEL is 0 or 1."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "keras" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("0", "1"):
        import keras  # noqa: F401

        return
    # TensorFlow's absl logging writes to fd 2 before any Python setting applies; Python errors still surface.
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401
            import tensorflow

            # Listing the devices probes CUDA; where its libraries exist without a GPU, that logs "failed call to
            # cuInit" in every job. Listing here mutes it, and leaves the thread settings open (a first op would not).
            tensorflow.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
