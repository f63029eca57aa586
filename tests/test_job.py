"""A real one-cell job on real Fashion-MNIST images, tracked in a real SQLite store, checked through MLflow."""

import gc
import time

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from sweep import data
from sweep.tracking import liveness, store
from sweep.training import job, programs
from tests.conftest import compose_cfg

EPOCHS = 2


@pytest.fixture
def finished_run(fashion_small, tmp_path):
    cfg = compose_cfg(
        "reg=dropout", "act=tanh", f"data.path={fashion_small}", f"train.epochs={EPOCHS}", "data=fashion_mnist"
    )
    config_dir = tmp_path / ".hydra"
    config_dir.mkdir()
    (config_dir / "overrides.yaml").write_text("- reg=dropout\n- act=tanh\n")
    ctx = job.JobContext(
        uri=store.resolve_uri(tmp_path),
        sweep_id="s-1",
        choices={"reg": "dropout", "act": "tanh", "data": "fashion_mnist", "speed": "fast"},
        config_dir=config_dir,
    )
    test_accuracy = job.run(cfg, ctx)
    client = MlflowClient()
    (run,) = client.search_runs([client.get_experiment_by_name("sweep").experiment_id])
    return run, test_accuracy, client


def test_job_logs_params_metrics_and_tags(finished_run):
    run, test_accuracy, client = finished_run
    assert run.info.status == "FINISHED" and run.info.run_name == "reg=dropout act=tanh"
    params = run.data.params
    assert params["reg"] == "dropout" and params["act"] == "tanh"
    assert params["reg.dropout"] == "0.2" and params["train.epochs"] == str(EPOCHS)
    assert params["model.hidden"] == "[128, 128]" and params["data.name"] == "fashion_mnist"
    assert params["train.batch_size"] == "32" and params["train.validation_split"] == "0.1"
    tags = run.data.tags
    assert tags[store.TAG_SWEEP] == "s-1" and tags[store.TAG_ROLE] == "job" and len(tags["config_hash"]) == 16
    assert tags["cell"] == "reg=dropout act=tanh" and len(tags["cell_hash"]) == 16
    assert (params["data"], params["speed"], params["data.image_shape"], params["data.classes"]) == (
        "fashion_mnist",
        "fast",
        "[28,28]",
        "10",
    )
    assert "mlflow.parentRunId" not in tags  # a job outside -m is a top-level run
    # its heartbeat (another host's liveness, sweep.tracking.liveness): the last epoch's, silent 2 epochs + 60 s
    beat, quiet = float(tags[liveness.TAG_HEARTBEAT]), float(tags[liveness.TAG_QUIET_S])
    assert run.info.start_time / 1000 < beat <= time.time() and 60 < quiet < liveness.START_QUIET_S
    for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
        history = client.get_metric_history(run.info.run_id, metric)
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(1, EPOCHS + 1))
    final = run.data.metrics
    assert final["test_accuracy"] == pytest.approx(test_accuracy)
    assert 0.5 < final["test_accuracy"] <= 1.0  # 10 classes: far above chance after 2 epochs on 1,080 images
    assert 0.5 < final["train_accuracy"] <= 1.0 and final["fit_time_s"] > 0
    assert final["train_loss"] > 0 and final["test_loss"] > 0


def test_job_logs_plots_config_and_a_loadable_model(finished_run, fashion_small):
    run, test_accuracy, client = finished_run
    listed = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert listed == {"plots/accuracy.png", "plots/loss.png"}
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="plots/accuracy.png")
    assert open(local, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert {a.path for a in client.list_artifacts(run.info.run_id, "hydra")} == {"hydra/overrides.yaml"}
    (logged,) = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        output_format="list",
    )
    pyfunc = mlflow.pyfunc.load_model(f"models:/{logged.model_id}")
    assert pyfunc.metadata.signature is not None and pyfunc.metadata.saved_input_example_info is not None
    assert "keras" in pyfunc.metadata.flavors
    stored = data.raw("fashion_mnist", str(fashion_small))  # uint8, as the files hold them: the model normalizes
    assert pyfunc.metadata.get_input_schema().inputs[0].type == np.dtype("uint8")
    classes = np.argmax(np.asarray(pyfunc.predict(stored.x_test)), axis=1)
    assert classes.shape == (len(stored.y_test),)
    assert np.mean(classes == stored.y_test) == pytest.approx(test_accuracy, abs=1e-6)
    # trained with HashDropout (speed.dropout_rng=hash), logged as Keras' own layers: it loads without sweep
    keras_model = mlflow.keras.load_model(f"models:/{logged.model_id}")
    assert {type(layer).__module__.split(".")[0] for layer in keras_model.layers} == {"keras"}
    assert "Dropout" in [type(layer).__name__ for layer in keras_model.layers]


@pytest.fixture
def new_programs():
    """No compiled loop kept from an earlier test's job of the same cell (sweep.training.programs)."""
    programs.clear()


def test_a_later_job_hides_the_graphs_earlier_jobs_left_from_the_collector(
    new_programs, finished_run, fashion_small, tmp_path
):
    # TensorFlow's traced graphs outlive their model (keras-team/keras#17458); each job's collections would scan them
    from tensorflow.python.framework.func_graph import FuncGraph

    left = {id(o) for o in gc.get_objects() if isinstance(o, FuncGraph)}
    assert left, "the finished job left no traced graph behind: this test no longer tests anything"
    cfg = compose_cfg("reg=none", "act=relu", f"data.path={fashion_small}", "train.epochs=1", "data=fashion_mnist")
    ctx = job.JobContext(uri=store.resolve_uri(tmp_path), sweep_id="s-2", choices={"reg": "none", "act": "relu"})
    job.run(cfg, ctx)
    still_scanned = {id(o) for o in gc.get_objects() if isinstance(o, FuncGraph)}
    assert not left & still_scanned
