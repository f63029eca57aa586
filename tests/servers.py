"""Real services on loopback for the tests and benchmarks/, each stopped by its pid: processes, PostgreSQL, MLflow."""

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Tuple

import psycopg2
import requests

LOOPBACK = "127.0.0.1"
DOCKER = Path(__file__).resolve().parents[1] / "docker"
START_SCRIPT = DOCKER / "mlflow" / "start-server.sh"  # the compose stack's: MLflow's basic-auth app
AUTH_DB_SCRIPT = DOCKER / "postgres" / "create-auth-database.sh"  # the compose stack's: the users' database
# Variables through which a sweep finds its store, login and context; a service or job gets only those a test hands it.
SWEEP_CONTEXT = ("MLFLOW_TRACKING_", "SWEEP_")  # the URI, and the login to it


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


class Postgres:
    """A private PostgreSQL cluster on a loopback port; stop() and start() again keep its data (an outage)."""

    def __init__(self) -> None:
        self.user = "postgres" if os.geteuid() == 0 else None  # the server refuses to run as root
        self.root, self.port, self.proc = short_dir("sweep-pg-", owner=self.user), free_port(), None
        self.password = _initdb(self.root, self.user)

    def start(self) -> None:
        """Start the server (again) on its port and wait until it takes connections."""
        server = [_pg_bin("postgres"), "-D", str(self.root / "data"), "-p", str(self.port), "-k", str(self.root)]
        settings = ["-c", f"listen_addresses={LOOPBACK}", "-c", "fsync=off"]  # fsync off: a throwaway test cluster
        log = self.root / "server.log"
        self.proc = start([*server, *settings], log, user=self.user, cwd=self.root)
        wait(lambda: _pg_ready(self.port, self.password), self.proc, log, "postgres", timeout=60)

    def stop(self) -> None:
        """SIGINT to the postmaster: PostgreSQL's fast shutdown (open connections are closed)."""
        if self.proc is not None:
            stop(self.proc, signal.SIGINT, group=False)
            self.proc = None

    def uri(self, database: str) -> str:
        """The SQLAlchemy URI of one of its databases."""
        return f"postgresql+psycopg2://postgres:{self.password}@{LOOPBACK}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; return its URI."""
        _create_database(self.port, self.password, name)
        return self.uri(name)

    def run_init_script(self, script: Path, **env: str) -> None:
        """Run a script of the postgres image's /docker-entrypoint-initdb.d against this cluster, as the image does."""
        login = {"PGHOST": LOOPBACK, "PGPORT": str(self.port), "PGPASSWORD": self.password}
        login["PATH"] = f"{Path(_pg_bin('psql')).parent}:{os.environ.get('PATH', '')}"  # the server's own psql
        image = {"POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres"}
        done = subprocess.run(
            ["sh", str(script)], env=clean_env(**login, **image, **env), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def cluster() -> Iterator[Postgres]:
    """A running private PostgreSQL cluster, removed afterwards."""
    pg = Postgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.close()


@contextmanager
def postgres(database: str = "mlflow") -> Iterator[str]:
    """A private PostgreSQL cluster on a loopback port holding one empty database; yields its SQLAlchemy URI."""
    with cluster() as pg:
        yield pg.create_database(database)


def http_ok(url: str) -> bool:
    """Whether a GET of url answers 200 within 2 s."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class Auth:
    """MLflow's basic-auth app for a server: its admin, its user database, the UI's CSRF key."""

    database_uri: str
    admin: str = "admin"
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16))

    def env(self, root: Path) -> Dict[str, str]:
        """The variables the compose stack's start script (docker/mlflow/start-server.sh) reads."""
        return {
            "MLFLOW_AUTH_DATABASE_URI": self.database_uri,
            "MLFLOW_AUTH_ADMIN_USERNAME": self.admin,
            "MLFLOW_AUTH_ADMIN_PASSWORD": self.password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": self.secret_key,
            "MLFLOW_AUTH_CONFIG_PATH": str(root / "basic_auth.ini"),
        }


class MlflowServer:
    """`mlflow server` on a loopback port over a store, storing and serving artifacts in a folder.

    With `auth`, started as the compose stack starts it: docker/mlflow/start-server.sh, MLflow's basic-auth app.
    kill() and start() again keep the port and the store (an outage).
    """

    def __init__(self, backend_uri: str, artifacts: Path, log: Path, auth: Optional[Auth] = None, workers: int = 1):
        self.backend_uri, self.artifacts, self.log, self.auth, self.workers = backend_uri, artifacts, log, auth, workers
        self.port, self.proc = free_port(), None
        self.url = f"http://{LOOPBACK}:{self.port}"

    def command(self) -> Tuple[list, Dict[str, str]]:
        # The store URI (with its password) goes through the environment, as in docker-compose.yml: not in `ps`.
        env = clean_env(MLFLOW_BACKEND_STORE_URI=self.backend_uri)
        args = ["--serve-artifacts", "--artifacts-destination", str(self.artifacts), "--host", LOOPBACK]
        args += ["--port", str(self.port), "--workers", str(self.workers)]
        if self.auth is None:
            return [sys.executable, "-m", "mlflow", "server", *args], env
        env.update(self.auth.env(self.log.parent), PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
        return ["sh", str(START_SCRIPT), *args], env

    def start(self, timeout: float = 120) -> None:
        """Start the server (again) and wait until /health answers."""
        cmd, env = self.command()
        self.proc = start(cmd, self.log, env=env)
        wait(lambda: http_ok(f"{self.url}/health"), self.proc, self.log, "mlflow server", timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the server and its workers at once, as the kernel's OOM killer would."""
        stop(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


@contextmanager
def mlflow_server(backend_uri: str, artifacts: Path, log: Path, auth: Optional[Auth] = None) -> Iterator[str]:
    """A started MlflowServer (see there); yields its URL."""
    server = MlflowServer(backend_uri, artifacts, log, auth)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


def create_user(url: str, auth: Auth, name: str, password: str) -> None:
    """Create a user of the server, as its admin does (POST /api/2.0/mlflow/users/create)."""
    done = requests.post(
        f"{url}/api/2.0/mlflow/users/create",
        json={"username": name, "password": password},
        auth=(auth.admin, auth.password),
        timeout=30,
    )
    assert done.status_code == 200, done.text
