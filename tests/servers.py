"""Real services for the tests on loopback, each stopped by its pid: process helpers, PostgreSQL, an MLflow server."""

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import psycopg2

LOOPBACK = "127.0.0.1"
# Variables through which a sweep finds its store and context; a service or job gets only the ones a test hands it.
SWEEP_CONTEXT = ("MLFLOW_TRACKING_URI", "SWEEP_")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> Dict[str, str]:
    """This process's environment without any MLflow store or sweep context, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SWEEP_CONTEXT)}
    return {**env, **extra}


def run_python(module: str, *args: str, cwd: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
    """Run `python -m module args` in cwd with exactly this environment, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def short_dir(prefix: str, owner: Optional[str] = None) -> Path:
    """A new private directory for a service, optionally owned by another user."""
    # Under /tmp, not pytest's deep tmp_path: Unix socket paths must stay under 108 bytes.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if owner:
        shutil.chown(path, owner, owner)
    return path


def tail(log: Path, size: int = 3000) -> str:
    """The end of a service's log, for error messages."""
    return log.read_text(errors="replace")[-size:] if log.exists() else ""


def start(cmd: list, log: Path, **kwargs) -> subprocess.Popen:
    """Start a service as the leader of its own process group, so that stop() also reaches what it spawns."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs
        )


def wait(ready: Callable[[], bool], proc: subprocess.Popen, log: Path, what: str, timeout: float) -> None:
    """Poll until ready(); fail with the log's tail if the service exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        if ready():
            return
        time.sleep(0.5)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s:\n{tail(log)}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _gone(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait until proc has exited and nothing is left in its process group."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None or _group_alive(proc.pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, group: bool = True, grace: float = 15) -> None:
    """Signal the service (its whole process group, or only its leader), then SIGKILL whatever of it is left."""
    try:
        os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
    except ProcessLookupError:
        pass
    if not _gone(proc, grace):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _gone(proc, 10)


def _pg_bin(name: str) -> str:
    """A PostgreSQL server program: Debian's newest /usr/lib/postgresql/N/bin, else from PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]))
    path = found[-1] if found else shutil.which(name)
    assert path, f"no {name}: install PostgreSQL's server (apt-get install -y postgresql, or sudo bash .ci/services.sh)"
    return path


def _pg_ready(port: int, password: str) -> bool:
    try:
        psycopg2.connect(host=LOOPBACK, port=port, user="postgres", password=password, connect_timeout=2).close()
    except psycopg2.OperationalError:
        return False
    return True


def _create_database(port: int, password: str, name: str) -> None:
    conn = psycopg2.connect(host=LOOPBACK, port=port, user="postgres", password=password)
    conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()


def _initdb(root: Path, user: Optional[str]) -> str:
    """Create a cluster in root/data whose superuser `postgres` has a new random password; return the password."""
    password, pwfile = secrets.token_hex(12), root / "password"
    pwfile.write_text(password)
    if user:
        shutil.chown(pwfile, user, user)
    cmd = [_pg_bin("initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth=scram-sha-256"]
    done = subprocess.run(
        [*cmd, f"--pwfile={pwfile}", "--no-locale", "-E", "UTF8"], user=user, cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return password


@contextmanager
def postgres(database: str = "mlflow") -> Iterator[str]:
    """A private PostgreSQL cluster on a loopback port holding one empty database; yields its SQLAlchemy URI."""
    user = "postgres" if os.geteuid() == 0 else None  # the server refuses to run as root
    root, port, proc = short_dir("sweep-pg-", owner=user), free_port(), None
    try:
        password = _initdb(root, user)
        server = [_pg_bin("postgres"), "-D", str(root / "data"), "-p", str(port), "-k", str(root)]
        settings = ["-c", f"listen_addresses={LOOPBACK}", "-c", "fsync=off"]  # fsync off: a throwaway test cluster
        proc = start([*server, *settings], root / "server.log", user=user, cwd=root)
        wait(lambda: _pg_ready(port, password), proc, root / "server.log", "postgres", timeout=60)
        _create_database(port, password, database)
        yield f"postgresql+psycopg2://postgres:{password}@{LOOPBACK}:{port}/{database}"
    finally:
        if proc is not None:
            stop(proc, signal.SIGINT, group=False)  # SIGINT to the postmaster: PostgreSQL's fast shutdown
        shutil.rmtree(root, ignore_errors=True)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def mlflow_server(backend_uri: str, artifacts: Path, log: Path) -> Iterator[str]:
    """`mlflow server` on a loopback port over that store, storing and serving artifacts in a folder; yields its URL."""
    port = free_port()
    # The store URI (with its password) goes through the environment, as in docker-compose.yml, not the process list.
    env = clean_env(MLFLOW_BACKEND_STORE_URI=backend_uri)
    args = ["--serve-artifacts", "--artifacts-destination", str(artifacts), "--host", LOOPBACK, "--port", str(port)]
    proc = start([sys.executable, "-m", "mlflow", "server", *args, "--workers", "1"], log, env=env)
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait(lambda: _http_ok(f"{url}/health"), proc, log, "mlflow server", timeout=120)
        yield url
    finally:
        stop(proc)
