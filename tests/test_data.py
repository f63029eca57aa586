"""Data loading from IDX directories, .npz files and Keras' cache, with the study's preprocessing; bad files."""

import gzip
import shutil

import keras
import numpy as np
import pytest

from sweep import data
from tests.conftest import N_TEST, N_TRAIN


def test_idx_directory_loads_and_normalizes_like_the_study(fashion_small, fashion_raw):
    ds = data.load("fashion_mnist", str(fashion_small), None)
    assert ds.x_train.shape == (N_TRAIN, 28, 28) and ds.x_test.shape == (N_TEST, 28, 28)
    assert ds.x_train.dtype == np.float32
    expected = keras.utils.normalize(fashion_raw.x_train[:N_TRAIN], axis=1)
    np.testing.assert_allclose(ds.x_train, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(ds.y_test, fashion_raw.y_test[:N_TEST])


def test_normalize_is_bit_for_bit_keras_normalize(fashion_raw):
    x = fashion_raw.x_test[:3000].copy()
    x[0] = 0  # an empty image: every norm is 0, which Keras replaces by 1
    x[1, :, 5] = 255  # a saturated column
    expected = keras.utils.normalize(x, axis=1).astype(np.float32)
    got = data.normalize(x, chunk=1000)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))
    floats = x[:10].astype(np.float64)  # not uint8: Keras' own function
    np.testing.assert_array_equal(data.normalize(floats), keras.utils.normalize(floats, axis=1).astype(np.float32))


def test_limit_keeps_the_first_training_images_and_the_whole_test_set(fashion_small):
    ds = data.load("fashion_mnist", str(fashion_small), 100)
    assert len(ds.x_train) == 100 and len(ds.y_train) == 100 and len(ds.x_test) == N_TEST


def test_debian_fashion_mnist_is_the_offline_default(fashion_raw):
    ds = data.load("fashion_mnist", None, 50)
    assert ds.x_test.shape == (10000, 28, 28) and len(ds.x_train) == 50
    np.testing.assert_array_equal(ds.y_train, fashion_raw.y_train[:50])


def test_keras_cache_of_fashion_mnist_comes_before_debians(tmp_path, fashion_small):
    _copy(fashion_small, tmp_path / "keras_home" / "datasets" / "fashion-mnist")  # $KERAS_HOME is the test's
    assert len(data.raw("fashion_mnist").x_train) == N_TRAIN  # the user's own copy, not Debian's 60,000


def test_mnist_reads_keras_cache_without_downloading(tmp_path, fashion_raw):
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    x, y = fashion_raw.x_train[:300], fashion_raw.y_train[:300]
    np.savez(cache / "mnist.npz", x_train=x, y_train=y, x_test=x[:100], y_test=y[:100])
    ds = data.load("mnist", None, None)
    assert len(ds.x_train) == 300 and len(ds.x_test) == 100
    np.testing.assert_array_equal(ds.y_train, y)


def test_npz_path(tmp_path, fashion_raw):
    path = tmp_path / "my.npz"
    x, y = fashion_raw.x_test[:60], fashion_raw.y_test[:60]
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y)
    assert len(data.load("mnist", str(path), None).x_train) == 60


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_truncated_idx_file_is_named(tmp_path, fashion_small):
    broken = _copy(fashion_small, tmp_path / "broken")
    target = broken / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(target.read_bytes())
    target.write_bytes(gzip.compress(raw[:-1000]))
    with pytest.raises(data.DataError, match=r"^data.path: .*train-images-idx3-ubyte.gz is truncated or corrupt"):
        data.load("fashion_mnist", str(broken), None)


def test_corrupt_gzip_and_bad_magic_are_named(tmp_path, fashion_small):
    broken = _copy(fashion_small, tmp_path / "broken")
    (broken / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(data.DataError, match=r"^data.path: cannot read .*t10k-labels"):
        data.load("fashion_mnist", str(broken), None)
    (broken / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x0d\x01" + bytes(8)))
    with pytest.raises(data.DataError, match="bad magic number"):
        data.load("fashion_mnist", str(broken), None)


def test_mismatched_labels_and_missing_files_are_named(tmp_path, fashion_small):
    broken = _copy(fashion_small, tmp_path / "broken")
    shutil.copy(broken / "t10k-labels-idx1-ubyte.gz", broken / "train-labels-idx1-ubyte.gz")
    with pytest.raises(data.DataError, match=r"train split has images \(1200, 28, 28\) and labels \(400,\)"):
        data.load("fashion_mnist", str(broken), None)
    (broken / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="has no t10k-images-idx3-ubyte"):
        data.load("fashion_mnist", str(broken), None)
    with pytest.raises(data.DataError, match="does not exist"):
        data.load("fashion_mnist", str(tmp_path / "nowhere"), None)


def test_prepared_arrays_are_cached_memory_mapped_and_equal_to_preparing_them(tmp_path, fashion_small, monkeypatch):
    from sweep.data import cache, prepare

    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    built = prepare._prepared(data.raw(None, str(fashion_small)), 500)
    first = data.load(None, str(fashion_small), 500)  # builds and writes the cache, then maps it
    data.load.cache_clear()
    again = data.load(None, str(fashion_small), 500)
    assert isinstance(again.x_train, np.memmap) and not again.x_train.flags.writeable
    for ours, theirs, mapped in zip(built, first, again, strict=True):
        assert ours.dtype == mapped.dtype and np.array_equal(ours, theirs) and np.array_equal(ours, mapped)
    (entry,) = (tmp_path / "cache").iterdir()  # one entry, no scratch folder left
    assert len(again.x_train) == 500 and len(np.load(entry / "x_train.npy", mmap_mode="r")) == N_TRAIN


def test_the_cache_follows_the_files_content_and_survives_a_broken_entry(tmp_path, fashion_small, monkeypatch):
    from sweep.data import cache

    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    copy = tmp_path / "copy"
    shutil.copytree(fashion_small, copy)
    before = data.load(None, str(copy))
    labels = copy / "t10k-labels-idx1-ubyte.gz"
    y = data.read_idx(labels).copy()
    y[0] = (y[0] + 1) % 10  # one label changed: another key, another entry, the new label read
    from tests.conftest import write_idx

    write_idx(labels, y)
    data.load.cache_clear(), data.raw.cache_clear()
    after = data.load(None, str(copy))
    assert after.y_test[0] == y[0] != before.y_test[0] and len(list((tmp_path / "cache").iterdir())) == 2
    (newest,) = [e for e in (tmp_path / "cache").iterdir() if e.name == cache.key(data.sources.files(None, str(copy)))]
    expected = np.array(after.x_test)
    broken = newest / "broken"
    broken.write_bytes(b"not an array")
    broken.replace(newest / "x_test.npy")  # a new file (the mapped one stays valid): ignored, rebuilt from the files
    data.load.cache_clear()
    rebuilt = data.load(None, str(copy))
    assert np.array_equal(rebuilt.x_test, expected) and isinstance(rebuilt.x_test, np.memmap)  # the entry repaired
    monkeypatch.setenv(cache.ENV, "off")
    data.load.cache_clear()
    assert not isinstance(data.load(None, str(copy)).x_train, np.memmap)
