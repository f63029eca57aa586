"""Our Hydra plugins under Hydra's own plugin test suites, run as Hydra's own plugins run them (issue 28, item 1).

The suites' apps are not sweep.train: a plain Hydra task under hydra/launcher=joblib_fused runs as under Hydra's
joblib launcher (each job alone, no TensorFlow), and hydra/sweeper=grid batches as Hydra's basic sweeper.
"""

import subprocess
import sys

import pytest
from hydra.core.singleton import Singleton
from hydra.test_utils.launcher_common_tests import BatchedSweeperTestSuite, IntegrationTestSuite, LauncherTestSuite
from hydra.version import VersionBase
from joblib.externals.loky import get_reusable_executor
from pytest import mark


@pytest.fixture(autouse=True)
def fresh_hydra():
    """Each suite's app as in a process of its own: the version_base that our compose tests set in this process
    (a Hydra singleton) is forgotten first, and joblib's workers, which stay in the folder they started in (Hydra's
    suites remove it), are ended after each test. Hydra's own joblib launcher fails these suites here without it."""
    Singleton._instances.pop(VersionBase, None)
    yield
    get_reusable_executor().shutdown(wait=True)


@mark.parametrize("launcher_name, overrides", [("joblib_fused", [])])
class TestFusedLauncher(LauncherTestSuite):
    pass


@mark.slow  # 11 Hydra apps started as subprocesses
@mark.parametrize(
    "task_launcher_cfg, extra_flags",
    [({"defaults": [{"override hydra/launcher": "joblib_fused"}, "_self_"]}, ["-m"])],
)
class TestFusedLauncherIntegration(IntegrationTestSuite):
    pass


@mark.parametrize("launcher_name, overrides", [("basic", ["hydra/sweeper=grid", "hydra.sweeper.max_batch_size=2"])])
class TestGridSweeper(BatchedSweeperTestSuite):
    pass


def test_another_apps_jobs_under_the_fused_launcher_never_import_tensorflow(tmp_path):
    (tmp_path / "app.py").write_text(
        "import sys, hydra\n"
        "@hydra.main(version_base='1.3', config_path=None)\n"
        "def main(cfg):\n"
        "    print('loaded', [m for m in ('tensorflow', 'mlflow', 'optuna') if m in sys.modules], flush=True)\n"
        "    return 0.5\n"
        "main()\n"
    )
    args = [sys.executable, "app.py", "-m", "hydra/launcher=joblib_fused", "hydra.launcher.n_jobs=2", "+x=1,2,3"]
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("loaded []") == 3, done.stdout  # in the workers, as in the launching process


def test_our_plugin_modules_import_no_heavy_library():
    # Hydra imports every plugin module in every Hydra app: sweep's must not bring TensorFlow, MLflow, Optuna, joblib
    code = (
        "import sys; import hydra_plugins.sweep_launchers.fused_launcher, hydra_plugins.sweep_sweepers.search, "
        "hydra_plugins.sweep_sweepers.race, hydra_plugins.sweep_sweepers.grid, hydra_plugins.sweep_callbacks; "
        "print([m for m in ('tensorflow', 'keras', 'mlflow', 'optuna', 'joblib', 'numpy') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr[-2000:]
