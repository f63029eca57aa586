"""Bad input is rejected before any run exists: one line naming the key and what is allowed, exit 2."""

import gzip
import shutil
import socket

import pytest

from sweep.config import overrides
from tests.conftest import CONF
from tests.helpers import all_runs, run_module

FAST = ["data=fashion_mnist", "train.epochs=1", "data.limit=200"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


@pytest.fixture
def corrupt_dir(tmp_path, fashion_small):
    broken = shutil.copytree(fashion_small, tmp_path / "corrupt")
    target = broken / "train-images-idx3-ubyte.gz"
    target.write_bytes(gzip.compress(gzip.decompress(target.read_bytes())[:-5000]))
    return broken


@pytest.fixture
def mismatched_dir(tmp_path, fashion_small):
    broken = shutil.copytree(fashion_small, tmp_path / "mismatched")
    shutil.copy(broken / "t10k-labels-idx1-ubyte.gz", broken / "train-labels-idx1-ubyte.gz")
    return broken


CASES = [
    (["-m", "reg=none,nope"], "error: reg: unknown option 'nope'; allowed: batchnorm, batchnorm_l1"),
    (["act=nope"], "error: act: unknown option 'nope'; allowed: leaky_relu, relu, sigmoid, tanh; to add one, put"),
    (["train.epoch=3"], "error: train.epoch: unknown key; known keys here: epochs, batch_size"),
    (["+extra=1"], "error: extra: unknown key; known keys: data, reg, act, train, model, speed, mlflow, retrain"),
    (["train.epochs=many"], "error: train.epochs: Value 'many' of type 'str' could not be converted to Integer"),
    (["-m", "reg=dropout", "reg.dropout=0.5,1.0"], "error: reg.dropout must be in [0, 1), got 1.0"),
    (["reg=l1", "reg.l1=-0.01"], "error: reg.l1 must be >= 0, got -0.01"),
    (["reg=l2", "reg.l2=-1"], "error: reg.l2 must be >= 0, got -1"),
    (["-m", "train.epochs=2,0"], "error: train.epochs must be an integer >= 1, got 0"),
    (["train.batch_size=0"], "error: train.batch_size must be an integer >= 1, got 0"),
    (["train.validation_split=1.0"], "error: train.validation_split must be in (0, 1), got 1.0"),
    (["train.validation_split=0"], "error: train.validation_split must be in (0, 1), got 0"),
    (["data.limit=0"], "error: data.limit must be null or an integer >= 1, got 0"),
    (["speed.loop=eager"], "error: speed.loop must be one of keras, in_graph, got 'eager'"),
    (["act.name=nope"], "error: act.name must be an activation Keras knows (celu, elu, "),
    (["-cd", "nowhere", "act=relu"], "error: --config-dir: "),
    (["train.seed=-1"], "error: train.seed must be an integer in [0, 4294967295] (NumPy's seeds), got -1"),
    (["-m", "reg=glob(zzz)"], "error: reg: glob(zzz) gives no value, so the sweep has no job; options there: "),
    (["-m", "hydra/launcher=nope"], "error: hydra/launcher: unknown option 'nope'; allowed: basic, joblib,"),
    (["-m", "hydra.launcher.fuse=0"], "error: hydra.launcher.fuse must be an integer >= 1 (1: every cell alone)"),
    (["data.limit=1"], "error: data.limit: 1 training images cannot be split by train.validation_split=0.1 into"),
]


def _assert_rejected(done, expected):
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), done.stderr
    assert all_runs() == []


# make test-fast runs a few of them; make test all
SOME = [case if n < 3 else pytest.param(*case, marks=pytest.mark.slow) for n, case in enumerate(CASES)]


@pytest.mark.parametrize("args, expected", SOME)
def test_bad_value_or_key(tmp_path, args, expected):
    mode, rest = [a for a in args if a == "-m"], [a for a in args if a != "-m"]  # Hydra's flags come first
    _assert_rejected(run_module("sweep.train", *mode, *FAST[:2], *rest, cwd=tmp_path), expected)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [[], ["-m"]])
def test_bad_data(tmp_path, corrupt_dir, mismatched_dir, mode):
    missing = run_module("sweep.train", *mode, *FAST, f"data.path={tmp_path / 'nowhere'}", cwd=tmp_path)
    _assert_rejected(missing, f"error: data.path: {tmp_path / 'nowhere'} does not exist")
    corrupt = run_module("sweep.train", *mode, *FAST, f"data.path={corrupt_dir}", cwd=tmp_path)
    _assert_rejected(corrupt, "error: data.path: ")
    assert "train-images-idx3-ubyte.gz is truncated or corrupt" in corrupt.stderr
    mismatched = run_module("sweep.train", *mode, *FAST, f"data.path={mismatched_dir}", cwd=tmp_path)
    _assert_rejected(mismatched, "error: data.path: ")
    assert "train split has images (1200, 28, 28) and labels (400,)" in mismatched.stderr


@pytest.mark.slow
def test_mnist_download_impossible_says_what_to_do(tmp_path):
    blocked = {"https_proxy": f"http://127.0.0.1:{closed_port()}", "HTTPS_PROXY": f"http://127.0.0.1:{closed_port()}"}
    done = run_module("sweep.train", "-m", "data=mnist", "data.limit=10", cwd=tmp_path, env=blocked)
    _assert_rejected(done, "error: data=mnist: download through Keras failed")
    assert "data.path=" in done.stderr and "data=fashion_mnist" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("mode, login", [([], "alice:pw-in-the-uri-0123@"), (["-m"], "")])
def test_unreachable_tracking_server_fails_fast(tmp_path, mode, login):
    uri = f"http://127.0.0.1:{closed_port()}"
    done = run_module("sweep.train", *mode, *FAST, cwd=tmp_path, uri=uri.replace("//", "//" + login), timeout=60)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: MLFLOW_TRACKING_URI: cannot reach the tracking store {uri} (")
    )
    assert "pw-in-the-uri" not in done.stdout + done.stderr  # a login in the URI is never printed


def test_an_unknown_activation_lists_what_keras_offers(tmp_path):
    done = run_module("sweep.train", "act=nope", cwd=tmp_path)
    _assert_rejected(done, "error: act: unknown option 'nope'")
    offered = done.stderr.split("Keras offers: ")[1].strip().split(", ")
    assert {"elu", "gelu", "relu", "swish", "leaky_relu"} <= set(offered) and "threshold" not in offered  # one tensor


@pytest.fixture
def user_options(tmp_path):
    """A user's own folder of options: one good activation, and bad files of each kind."""
    root = tmp_path / "my_options"
    (root / "act").mkdir(parents=True)
    (root / "reg").mkdir()
    (root / "act" / "elu.yaml").write_text("name: elu\n")
    (root / "act" / "typo.yaml").write_text("nam: elu\n")
    (root / "act" / "elux.yaml").write_text("name: elux\n")
    (root / "act" / "broken.yaml").write_text("name: [elu\n")
    (root / "reg" / "half.yaml").write_text("name: half\n")  # no input_layers
    (root / "reg" / "heavy.yaml").write_text("name: heavy\ninput_layers: [flatten, dropout]\ndropout: 1.5\n")
    return root


@pytest.mark.parametrize(
    "option, expected",
    [
        ("act=typo", "act.nam: unknown key (in {root}/act/typo.yaml); known keys here: name"),
        ("act=elux", "act.name must be an activation Keras knows ("),
        ("act=broken", "act: {root}/act/broken.yaml is not valid YAML: "),
        ("reg=half", "reg.input_layers: no value given (the key is required) (in {root}/reg/half.yaml)"),
        ("reg=heavy", "reg.dropout must be in [0, 1), got 1.5 (in {root}/reg/heavy.yaml)"),
    ],
)
def test_a_bad_option_file_is_named_before_hydra_starts(user_options, option, expected):
    for where in (
        ["--config-dir", str(user_options)],
        ["-cd", str(user_options)],
        [f"hydra.searchpath=[{user_options}]"],
    ):
        problem = overrides.check([*where, option], str(CONF))
        assert problem.startswith(expected.format(root=user_options)) and str(user_options) in problem
    assert overrides.check(["--config-dir", str(user_options), "act=elu"], str(CONF)) is None


@pytest.mark.slow
def test_a_bad_option_file_found_by_a_glob_is_named_and_nothing_is_tracked(tmp_path, user_options):
    # a glob is expanded by Hydra, so the multirun's own check (not the one before Hydra) meets the file
    done = run_module("sweep.train", "-m", f"--config-dir={user_options}", *FAST, "act=glob(elu*)", cwd=tmp_path)
    _assert_rejected(done, "error: act.name must be an activation Keras knows (")
    assert done.stderr.strip().endswith(f"got 'elux' (in {user_options}/act/elux.yaml)")
