"""The jobs of a worker share one TensorFlow copy of each data slice; a new array is never served a stale copy."""

import numpy as np

from sweep.training import resident


def test_a_slice_is_copied_once_and_matches_the_array():
    x = np.arange(24, dtype=np.int64).reshape(6, 4)
    first = resident.tensor(x, 0, 4, np.int32)
    assert resident.tensor(x, 0, 4, np.int32) is first  # the second job gets the same copy
    assert first.dtype.name == "int32"
    np.testing.assert_array_equal(first.numpy(), x[:4])
    np.testing.assert_array_equal(resident.tensor(x, 4).numpy(), x[4:])  # another slice, its own copy
    np.testing.assert_array_equal(resident.tensor(x).numpy(), x)


def test_another_array_gets_its_own_copy_and_old_slices_are_dropped():
    x = np.ones((3, 2), np.float32)
    held = resident.tensor(x)
    y = x * 2  # a different array: never the copy of x, whatever its address
    np.testing.assert_array_equal(resident.tensor(y).numpy(), y)
    arrays = [np.full((2,), i, np.float32) for i in range(resident.KEPT + 2)]
    for a in arrays:
        resident.tensor(a)
    assert len(resident._copies) == resident.KEPT
    assert resident.tensor(x) is not held  # x's copy was dropped (least recently used) and is made again
