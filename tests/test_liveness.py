"""Liveness across hosts (issue 30, item 3): a run owned on another host is judged by its own heartbeat.

A real SQLite store; the runs stand for jobs on a second host by carrying another host identity.
"""

import time

from mlflow import MlflowClient

from sweep.tracking import liveness, store


def _run(client: MlflowClient, experiment_id: str, name: str, **tags) -> str:
    owner = {**liveness.owner_tags(), liveness.TAG_HOST: "node-b", **tags}
    return client.create_run(experiment_id, run_name=name, tags={store.TAG_ROLE: "job", **owner}).info.run_id


def test_another_hosts_job_is_dead_once_silent_past_its_own_window_and_alive_before(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = store.prepare_experiment(uri, "sweep")
    client, now = MlflowClient(uri), time.time()
    beat = liveness.TAG_HEARTBEAT
    quiet = liveness.TAG_QUIET_S
    silent = _run(client, experiment_id, "lost", **{beat: f"{now - 400}", quiet: "40"})  # silent 400 s > 3 x 40 s
    recent = _run(client, experiment_id, "training", **{beat: f"{now - 100}", quiet: "40"})  # within 3 x 40 s
    starting = _run(client, experiment_id, "compiling", **liveness.heartbeat_tags())  # the start-up's allowance
    old_style = _run(client, experiment_id, "no heartbeat")  # no beat: the 24 h rule
    assert liveness.reap(uri, experiment_id) == ["lost"]
    status = {r: client.get_run(r).info.status for r in (silent, recent, starting, old_style)}
    assert status == {silent: "KILLED", recent: "RUNNING", starting: "RUNNING", old_style: "RUNNING"}
    assert client.get_run(silent).data.tags[liveness.TAG_END_REASON].startswith("its process died")
    # the window is the job's own: the same silence is death for a 10 s epoch, life for a 200 s one
    fast = {liveness.TAG_HOST: "node-b", liveness.TAG_PID: "1", beat: f"{now - 300}", quiet: "80"}
    assert liveness.is_dead(fast, 0) and not liveness.is_dead({**fast, quiet: "460"}, 0)
    assert not liveness.is_dead({**fast, beat: f"{now - 30}", quiet: "1"}, 0)  # never under MIN_SILENCE_S
