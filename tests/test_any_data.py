"""Data of any shape: IDX of 3 or 4 dimensions, Keras-layout .npz, any image size and number of classes; the logged
model takes the images as stored and normalizes them itself, exactly as training did."""

import keras
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from sweep import data
from sweep.config import checks
from sweep.tracking import store
from sweep.training import export, job, model
from tests.conftest import compose_cfg, write_idx


def five_classes_32(fashion_raw, n_train=1200, n_test=400) -> data.Dataset:
    """Fashion-MNIST padded to 32 x 32, keeping labels 0-4: another image size, another number of classes."""

    def part(x, y, n):
        keep = np.flatnonzero(y < 5)[:n]
        return np.pad(x[keep], ((0, 0), (2, 2), (2, 2))), y[keep]

    return data.Dataset(
        *part(fashion_raw.x_train, fashion_raw.y_train, n_train), *part(fashion_raw.x_test, fashion_raw.y_test, n_test)
    )


def test_idx_of_four_dimensions_and_npz_of_any_shape_load(tmp_path, fashion_raw):
    x, y = fashion_raw.x_train[:90], fashion_raw.y_train[:90]
    colour = np.stack([x, x[:, ::-1], x[:, :, ::-1]], axis=-1)  # N x 28 x 28 x 3
    folder = tmp_path / "idx4"
    folder.mkdir()
    for key, stem in data.IDX_FILES.items():
        write_idx(
            folder / f"{stem}.gz", {"x_train": colour, "y_train": y, "x_test": colour[:30], "y_test": y[:30]}[key]
        )
    ds = data.load("local", str(folder), None)
    assert ds.x_train.shape == (90, 28, 28, 3) and data.shape(data.raw("local", str(folder))) == ((28, 28, 3), 10)
    np.testing.assert_array_equal(
        ds.x_train.view(np.uint32), keras.utils.normalize(colour, axis=1).astype(np.float32).view(np.uint32)
    )
    cifar_like = tmp_path / "cifar.npz"  # Keras' CIFAR layout: labels of shape (N, 1)
    np.savez(
        cifar_like,
        x_train=colour[:, :8, :8],
        y_train=(y[:, None] % 3),
        x_test=colour[:20, :8, :8],
        y_test=y[:20, None] % 3,
    )
    stored = data.raw("local", str(cifar_like))
    assert stored.y_train.shape == (90,) and data.shape(stored) == ((8, 8, 3), 3)


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(x_test=np.zeros((10, 30, 28), np.uint8)), r"train images are \(28, 28\) but test images \(30, 28\)"),
        (dict(y_train=-np.ones(60, np.int64)), r"train labels must be integers >= 0"),
        (dict(y_train=np.zeros(60, np.float32)), r"train labels must be integers >= 0 \(class numbers\), got float32"),
        (dict(y_train=np.zeros(60, np.uint8), y_test=np.zeros(10, np.uint8)), r"labels hold a single class"),
        (dict(x_train=np.zeros((60, 28), np.uint8)), r"train split has images \(60, 28\) and labels \(60,\)"),
    ],
)
def test_data_that_cannot_train_a_classifier_is_named(tmp_path, fashion_raw, arrays, message):
    good = dict(
        x_train=fashion_raw.x_train[:60],
        y_train=fashion_raw.y_train[:60],
        x_test=fashion_raw.x_test[:10],
        y_test=fashion_raw.y_test[:10],
    )
    np.savez(tmp_path / "bad.npz", **{**good, **arrays})
    with pytest.raises(data.DataError, match=rf"^data.path: .*bad.npz {message}"):
        data.raw("local", str(tmp_path / "bad.npz"))


def test_local_data_needs_a_path():
    with pytest.raises(
        data.DataError, match=r"^data.path: data.name='local' is no built-in data set \(mnist, fashion_mnist\)"
    ):
        data.raw("local", None)
    checks.validate(compose_cfg("data=local", "data.path=x.npz", "data.name=scans"))  # any label


@pytest.mark.parametrize("reg_at", ["input", "hidden"])
def test_the_model_takes_its_input_shape_and_units_from_the_data(reg_at):
    cfg = compose_cfg("reg=dropout_batchnorm", f"model.reg_at={reg_at}")
    net = model.build(cfg.reg, cfg.act, cfg.model, cfg.train, cfg.speed, data.Shape((8, 6, 3), 5))
    assert net.input_shape == (None, 8, 6, 3) and net.output_shape == (None, 5)
    served = export.serving_model(net, (8, 6, 3))
    assert served.input_shape == (None, 8, 6, 3) and served.output_shape == (None, 5)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, fashion_raw):
    """One real job on a user's .npz of 32 x 32 images in 5 classes, tracked in its own store."""
    where = tmp_path_factory.mktemp("local_data")
    npz = where / "five.npz"
    np.savez(npz, **five_classes_32(fashion_raw)._asdict())
    uri = store.resolve_uri(where)
    cfg = compose_cfg(
        "data=local", f"data.path={npz}", "data.name=five_fashion", "train.epochs=1", "mlflow.experiment=local"
    )
    test_accuracy = job.run(
        cfg, job.JobContext(uri=uri, sweep_id="local-1", choices={"reg": "none", "act": "relu", "data": "local"})
    )
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("local").experiment_id])
    mlflow.set_tracking_uri(uri)
    (logged,) = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
    return run, test_accuracy, f"models:/{logged.model_id}", data.raw("local", str(npz)), uri


def test_a_local_data_set_trains_and_logs_its_shape(local_run):
    run, test_accuracy, _, _, _ = local_run
    params = run.data.params
    assert (params["data"], params["data.name"], params["data.image_shape"], params["data.classes"]) == (
        "local",
        "five_fashion",
        "[32,32]",
        "5",
    )
    assert run.data.metrics["test_accuracy"] == pytest.approx(test_accuracy) and test_accuracy > 0.4  # 5 classes


def test_the_logged_model_predicts_raw_images_at_its_logged_test_accuracy(local_run, monkeypatch):
    run, test_accuracy, uri, stored, tracking = local_run
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    mlflow.set_tracking_uri(tracking)
    pyfunc = mlflow.pyfunc.load_model(uri)
    (spec,) = pyfunc.metadata.get_input_schema().inputs
    assert spec.shape == (-1, 32, 32) and spec.type == np.dtype("uint8")  # as the .npz stores them
    assert stored.x_test.dtype == np.uint8
    classes = np.argmax(np.asarray(pyfunc.predict(stored.x_test)), axis=1)
    assert np.mean(classes == stored.y_test) == pytest.approx(test_accuracy, abs=1e-6)
    # its first layer is the study's normalization, bit for bit what training fed the net
    served = mlflow.keras.load_model(uri)
    front = keras.Model(served.inputs, served.layers[0].output)
    normalized = np.asarray(front(stored.x_test)).astype(np.float32)
    np.testing.assert_array_equal(normalized.view(np.uint32), data.normalize(stored.x_test).view(np.uint32))
