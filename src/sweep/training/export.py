"""The model a job logs: the trained net behind the study's normalization, in plain Keras layers.

Training normalizes the data once per process (sweep.data.normalize) and feeds the net normalized images, so the
in-graph loop does no extra work. The logged model takes images as the data set stores them (e.g. uint8 0-255):
its first layer is Keras' UnitNormalization over axis 1, which is `keras.utils.normalize(x, axis=1)`: x times the
inverse L2 norm along axis 1 (0 where that norm is 0). In float64 it matches the training data bit for bit once the
next layer rounds it to float32 (tests/test_any_data.py checks it), so served predictions are the logged ones.
"""

from typing import Tuple

import keras

from sweep.models.dropout import HashDropout, plain


def serving_model(net: keras.Model, image: Tuple[int, ...]) -> keras.Model:
    """`net` behind the study's normalization, in plain Keras layers: it takes raw images of shape `image`.

    A Sequential net's own layers (and so its weights) are shared, not copied (copying cost ~0.05 s a job); only
    HashDropout, which holds no weights, becomes Keras' Dropout. Any other net is copied, weights included.
    """
    front = [keras.Input(shape=image, dtype="float64"), keras.layers.UnitNormalization(axis=1, dtype="float64")]
    if isinstance(net, keras.Sequential):
        layers = [plain(layer) if isinstance(layer, HashDropout) else layer for layer in net.layers]
        served = keras.Sequential([*front, *layers])
    else:  # a user's functional net: a plain-Keras copy of it, with its weights, behind the normalization
        copy = keras.models.clone_model(net, clone_function=plain)
        copy.set_weights(net.get_weights())
        served = keras.Model(front[0], copy(front[1](front[0])))
    served.compile_from_config(net.get_compile_config())  # the net's optimizer settings (fresh state), loss, metrics
    return served
