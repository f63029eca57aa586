"""A plain Hydra app (scikit-learn, no TensorFlow) that sweep's plugins search, prune and race (docs/hydra.md).

    python train.py                                  # one run: prints the validation accuracy
    python train.py -m hydra/sweeper=search 'alpha=tag(log,interval(1e-6,1e-1))' hydra.sweeper.pruner=median
    python train.py -m hydra/sweeper=race 'loss=hinge,log_loss,perceptron'

It trains a linear classifier with SGD on scikit-learn's bundled 8x8 digits (nothing is downloaded), one epoch at a
time; after each epoch it reports the validation accuracy with `sweep.report`, which returns true when the search's
pruner stops the trial. It returns its metrics as a mapping; hydra.sweeper.metric names the one to optimize.
"""

import hydra
import numpy as np
from omegaconf import DictConfig
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split

from sweep import report


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict:
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.3, random_state=cfg.seed)
    model = SGDClassifier(loss=cfg.loss, alpha=cfg.alpha, learning_rate="constant", eta0=cfg.eta0, random_state=cfg.seed)
    classes = np.unique(y)
    accuracy = 0.0
    for epoch in range(1, cfg.epochs + 1):
        model.partial_fit(x_train, y_train, classes=classes)
        accuracy = float(model.score(x_val, y_val))
        if report(epoch, accuracy):  # pruned: stop here, the search counts the trial as pruned
            break
    result = {"val_accuracy": accuracy, "val_error": 1.0 - accuracy, "train_accuracy": model.score(x_train, y_train)}
    print(f"val_accuracy={accuracy:.4f} after {epoch} epochs")
    return result


if __name__ == "__main__":
    main()
