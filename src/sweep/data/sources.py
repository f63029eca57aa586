"""Where a data set comes from: a user's IDX directory or .npz, Keras' cache, Debian's Fashion-MNIST, or a download."""

import os
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from sweep.data.dataset import DataError, Dataset, Shape
from sweep.data.idx import IDX_FILES, find, read_idx
from sweep.process import quiet

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
BUILT_IN = ("mnist", "fashion_mnist")  # the data sets sweep finds or downloads by name (conf/data/*.yaml)
HINT = (
    "download it on a connected machine, or pass data.path=<dir of IDX files or .npz>, "
    "or use data=fashion_mnist (Debian: apt-get install dataset-fashion-mnist)"
)


def load_idx_dir(directory: Path) -> Dataset:
    """Load the four MNIST-layout IDX files of a directory."""
    arrays = {key: read_idx(find(directory, stem)) for key, stem in IDX_FILES.items()}
    return _checked(Dataset(**arrays), directory)


def load_npz(path: Path) -> Dataset:
    """Load a Keras-layout .npz (x_train, y_train, x_test, y_test)."""
    try:
        with np.load(path) as f:
            ds = Dataset(**{key: f[key] for key in Dataset._fields})
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DataError(
            f"data.path: {path} is not a Keras-layout .npz with x_train, y_train, x_test, y_test: {exc}"
        ) from exc
    return _checked(ds, path)


def finite(ds: Dataset, where: Path) -> None:
    """Refuse NaN or inf in any array: bad data, which training would only show later as a diverged loss."""
    for key in Dataset._fields:
        array = getattr(ds, key)
        if np.issubdtype(array.dtype, np.inexact):
            bad = int(array.size - np.count_nonzero(np.isfinite(array)))
            if bad:
                raise DataError(
                    f"data.path={where}: {key} holds {bad} non-finite values (NaN or inf) of {array.size}; "
                    "images and labels must be finite numbers: fix or drop those entries"
                )


def _checked(ds: Dataset, where: Path) -> Dataset:
    """The data set with 1-D integer labels, if its images are N x H x W (x C) and match their labels and each other."""
    finite(ds, where)
    labels = {}
    for x, y, split in ((ds.x_train, ds.y_train, "train"), (ds.x_test, ds.y_test, "test")):
        y = y.reshape(-1) if y.ndim == 2 and y.shape[1:] == (1,) else y  # Keras' CIFAR layout: (N, 1) labels
        if x.ndim not in (3, 4) or y.shape != (x.shape[0],):
            raise DataError(
                f"data.path: {where} {split} split has images {x.shape} and labels {y.shape}; "
                "expected N images of H x W or H x W x C and N labels"
            )
        if not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
            raise DataError(f"data.path: {where} {split} labels must be integers >= 0 (class numbers), got {y.dtype}")
        labels[split] = y
    if ds.x_train.shape[1:] != ds.x_test.shape[1:]:
        raise DataError(
            f"data.path: {where} train images are {ds.x_train.shape[1:]} but test images {ds.x_test.shape[1:]}"
        )
    checked = Dataset(ds.x_train, labels["train"], ds.x_test, labels["test"])
    if classes(checked) < 2:
        raise DataError(f"data.path: {where} labels hold a single class; a classifier needs at least 2")
    return checked


def classes(ds: Dataset) -> int:
    """The model's output units: one per class number, 0 to the largest label of either split."""
    return int(max(ds.y_train.max(initial=0), ds.y_test.max(initial=0))) + 1


def shape(ds: Dataset) -> Shape:
    """One image's shape and the number of classes of a data set as stored."""
    return Shape(tuple(int(d) for d in ds.x_train.shape[1:]), classes(ds))


def keras_cache_dir() -> Path:
    """Where Keras' dataset loaders cache their downloads ($KERAS_HOME/datasets)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def origin(name: str, path: Optional[str] = None) -> Tuple[str, Optional[Path]]:
    """Where a data set is read from: ("idx", directory), ("npz", file) or ("download", None); DataError if nowhere."""
    if path is not None:
        p = Path(path).expanduser()
        if p.is_dir():
            return "idx", p
        if p.is_file():
            return "npz", p
        raise DataError(f"data.path: {p} does not exist (a directory of IDX files or a .npz is expected)")
    if name not in BUILT_IN:
        raise DataError(
            f"data.path: data.name={name!r} is no built-in data set ({', '.join(BUILT_IN)}); "
            "give your files with data.path=<a directory of IDX files or a Keras-layout .npz>"
        )
    if name == "fashion_mnist":
        for candidate in (keras_cache_dir() / "fashion-mnist", DEBIAN_FASHION_MNIST):
            if candidate.is_dir():
                return "idx", candidate
    elif (keras_cache_dir() / "mnist.npz").is_file():
        # Read the cache directly: Keras' loader re-downloads a cached file whose hash it does not know.
        return "npz", keras_cache_dir() / "mnist.npz"
    return "download", None


@lru_cache(maxsize=2)
def raw(name: str, path: Optional[str] = None) -> Dataset:
    """The data set as stored (uint8 images), read and checked once per process; needs no TensorFlow."""
    kind, where = origin(name, path)
    if kind == "idx":
        return load_idx_dir(where)
    return load_npz(where) if kind == "npz" else _download(name)


def files(name: str, path: Optional[str] = None) -> Optional[List[Path]]:
    """The files `raw` reads (for the prepared arrays' cache key); None for a download or data not found."""
    try:
        kind, where = origin(name, path)
        return [find(where, stem) for stem in IDX_FILES.values()] if kind == "idx" else [where] if where else None
    except DataError:
        return None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


def _download(name: str) -> Dataset:
    quiet.import_tensorflow()
    import keras

    loader = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as exc:  # noqa: BLE001 - any network or cache failure gets the same advice
        raise DataError(f"data={name}: download through Keras failed ({_first_line(exc)}); {HINT}") from exc
    return _checked(Dataset(x_train, y_train, x_test, y_test), Path(f"keras.datasets.{name}"))
