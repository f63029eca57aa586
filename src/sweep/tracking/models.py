"""Log a job's Keras model to MLflow: Keras flavor, signature, input example, explicit requirements."""

import os
import types
from typing import Any

import keras
import mlflow
from mlflow.models import Model, infer_signature


def _save_keras_model(path: str, **kwargs: Any) -> Any:
    # MLflow 3.17 writes the input example before creating the model folder (FileNotFoundError); create it first.
    os.makedirs(path, exist_ok=True)
    kwargs.pop("validate_serving_input", None)  # read by Model.log, unknown to the Keras flavor
    return mlflow.keras.save_model(path=path, **kwargs)


_KERAS_FLAVOR = types.SimpleNamespace(__name__="mlflow.keras", save_model=_save_keras_model)


def log_model(model: keras.Model, example: Any) -> str:
    """Log the model in MLflow's Keras flavor with signature and input example; return its models:/ URI."""
    # A direct call: predict() would trace a new predict function for every job's model (~0.1 s), for 5 images
    signature = infer_signature(example, keras.ops.convert_to_numpy(model(example, training=False)))
    info = Model.log(
        artifact_path=None,
        name="model",
        flavor=_KERAS_FLAVOR,
        model=model,
        signature=signature,
        input_example=example,
        # No reload-and-predict check of the example (~0.3 s a job): tests load every logged model through pyfunc.
        validate_serving_input=False,
        # Explicit requirements: inferring them re-imports TensorFlow in a subprocess (~7 s a job).
        pip_requirements=[
            *mlflow.keras.get_default_pip_requirements(),
            *mlflow.tensorflow.get_default_pip_requirements(),
        ],
    )
    return info.model_uri
