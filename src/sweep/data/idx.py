"""Read MNIST's IDX format: a 4-byte magic, big-endian dimensions, raw uint8 values (optionally gzipped)."""

import gzip
from pathlib import Path

import numpy as np

from sweep.data.dataset import DataError

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """Read one uint8 IDX file of 1 to 4 dimensions (optionally gzipped), checking its header against its length."""
    # Written by hand: the format is a 4-byte magic, big-endian dims and raw uint8; no maintained reader exists.
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"data.path: cannot read {path}: {exc}") from exc
    if len(raw) < 4 or raw[0:3] != b"\x00\x00\x08" or not 1 <= raw[3] <= 4:
        raise DataError(f"data.path: {path} is not an uint8 IDX file (bad magic number)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DataError(
            f"data.path: {path} is truncated or corrupt: header says {shape}, holds {len(raw) - offset} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def find(directory: Path, stem: str) -> Path:
    """The file `stem` or `stem.gz` in a directory."""
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"data.path: {directory} has no {stem} or {stem}.gz (MNIST IDX layout expected)")
