"""Tell live runs from runs whose process died, and mark the dead ones so that none stays RUNNING forever.

A run records the host, pid and pid start time of the process that owns it. A RUNNING run is dead when it
was started on this host and that pid is gone or now belongs to a newer process. No pid can be looked at on another
host: there a job's run beats instead (`sweep.heartbeat`, at its creation and after every epoch, with
`sweep.quiet_s`, the silence it expects before its next beat: its own epoch time, or the start-up's allowance), and
is dead once silent for more than SILENCE_FACTOR times that (at least MIN_SILENCE_S). A run from another host with
no heartbeat (a parent) is dead when it started more than STALE_AFTER_H hours ago.
"""

import contextlib
import os
import socket
import time
import uuid
from pathlib import Path
from typing import List, Optional

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from sweep.tracking import store

TAG_HOST, TAG_PID, TAG_PID_START = "sweep.host", "sweep.pid", "sweep.pid_start"
TAG_ATTEMPT = "sweep.attempt"  # one per run this process creates: a copy from a retried request carries it too
TAG_END_REASON = "sweep.end_reason"
TAG_HEARTBEAT, TAG_QUIET_S = "sweep.heartbeat", "sweep.quiet_s"
STALE_AFTER_H = 24
START_QUIET_S = 900.0  # from a job run's creation to its first epoch's end: imports, data, build, compile, epoch 1
SILENCE_FACTOR, MIN_SILENCE_S = 3.0, 60.0


def heartbeat_tags(quiet_s: float = START_QUIET_S) -> dict:
    """A job run's beat: alive now, and how long it may stay silent before the next one."""
    return {TAG_HEARTBEAT: f"{time.time():.3f}", TAG_QUIET_S: f"{quiet_s:.3f}"}


def _pid_start(pid: int) -> Optional[str]:
    """The kernel's start time of a process (field 22 of /proc/PID/stat), or None if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_tags() -> dict:
    """Tags that name this process as the owner of a new run, and this creation of it."""
    pid = os.getpid()
    return {
        TAG_HOST: socket.gethostname(),
        TAG_PID: str(pid),
        TAG_PID_START: _pid_start(pid) or "",
        TAG_ATTEMPT: uuid.uuid4().hex,
    }


def drop_copies(uri: str, run) -> None:
    """Retire copies of a new run made by a retried create request (they carry its attempt tag): KILLED, deleted."""
    client, token = MlflowClient(uri), run.data.tags.get(TAG_ATTEMPT)
    found = client.search_runs([run.info.experiment_id], f"tags.`{TAG_ATTEMPT}` = '{token}'") if token else []
    for copy in (r for r in found if r.info.run_id != run.info.run_id):
        client.set_tag(copy.info.run_id, store.TAG_ROLE, "copy")  # neither a job nor a parent of any sweep
        client.set_tag(copy.info.run_id, TAG_END_REASON, f"a copy of run {run.info.run_id} made by a retried request")
        client.set_terminated(copy.info.run_id, "KILLED")
        with contextlib.suppress(MlflowException):  # deleting needs MANAGE; retagged and KILLED, it is out of the way
            client.delete_run(copy.info.run_id)


def is_dead(tags: dict, start_time_ms: int) -> bool:
    """Whether the process that owns a RUNNING run (by its tags) is gone."""
    if tags.get(TAG_HOST) != socket.gethostname() or TAG_PID not in tags:
        if TAG_HEARTBEAT in tags:  # another host's job: silent past its own window
            window = max(MIN_SILENCE_S, SILENCE_FACTOR * float(tags.get(TAG_QUIET_S) or START_QUIET_S))
            return time.time() - float(tags[TAG_HEARTBEAT]) > window
        return time.time() - start_time_ms / 1000 > STALE_AFTER_H * 3600
    pid = int(tags[TAG_PID])
    if pid == os.getpid():
        return False
    if not Path("/proc").is_dir():  # no /proc (macOS): the pid alone decides
        try:
            os.kill(pid, 0)  # PermissionError: alive, owned by another user
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False
    started = _pid_start(pid)
    if started is None:
        return True
    return bool(tags.get(TAG_PID_START)) and started != tags[TAG_PID_START]


def reap(uri: str, experiment_id: str) -> List[str]:
    """Mark RUNNING runs of the experiment whose process died as KILLED; return their names."""
    client = MlflowClient(uri)
    running = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=5000)
    reaped = []
    for run in running:
        if is_dead(run.data.tags, run.info.start_time):
            client.set_tag(run.info.run_id, TAG_END_REASON, "its process died (found by a later sweep command)")
            client.set_terminated(run.info.run_id, "KILLED")
            reaped.append(run.info.run_name)
    return reaped
