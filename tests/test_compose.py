"""docker-compose.yml, checked without a Docker engine: Compose resolves it, and it matches the Compose spec."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE, ENV_EXAMPLE = ROOT / "docker-compose.yml", ROOT / ".env.example"
LONG_RUNNING = {"postgres", "minio", "mlflow"}


def compose(*args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess:
    """Run `docker-compose [--env-file F] -f docker-compose.yml ARGS` (Debian's package; needs no engine)."""
    binary = shutil.which("docker-compose")
    assert binary, "no docker-compose: apt-get install -y docker-compose (or sudo bash .ci/services.sh)"
    cmd = [binary, "--project-directory", str(ROOT), "--env-file", str(env_file), "-f", str(COMPOSE), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def resolved() -> dict:
    """The file as Compose resolves it with the example settings (`docker-compose config`)."""
    done = compose("config")
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def host_ip(port) -> str:
    """The host address a published port binds (Compose v1 prints strings, v2 mappings)."""
    return port["host_ip"] if isinstance(port, dict) else str(port).rsplit(":", 2)[0]


def conditions(service: dict) -> dict:
    """What a service waits for: {service it depends on: condition}."""
    return {name: dep["condition"] for name, dep in service["depends_on"].items()}


def test_ports_are_published_on_loopback_only(resolved):
    ports = [p for service in resolved["services"].values() for p in service.get("ports", [])]
    assert ports and {host_ip(p) for p in ports} == {"127.0.0.1"}
    assert "ports" not in resolved["services"]["postgres"]  # only MLflow talks to the database


def test_data_lives_in_named_volumes(resolved):
    for name in ("postgres", "minio"):
        source = resolved["services"][name]["volumes"][0]
        source = source["source"] if isinstance(source, dict) else source.split(":")[0]
        assert source in resolved["volumes"]


def test_services_start_in_order_and_report_health(resolved):
    services = resolved["services"]
    assert all("test" in services[name]["healthcheck"] for name in LONG_RUNNING)
    assert conditions(services["minio-init"]) == {"minio": "service_healthy"}
    assert "mc mb --ignore-existing" in " ".join(services["minio-init"]["command"])
    assert conditions(services["mlflow"]) == {
        "postgres": "service_healthy",
        "minio-init": "service_completed_successfully",
    }


def test_mlflow_serves_artifacts_from_the_bucket(resolved):
    env = resolved["services"]["mlflow"]["environment"]
    assert env["MLFLOW_SERVE_ARTIFACTS"] == "true"
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://mlflow"
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://mlflow:change-me@postgres:5432/")


def test_mlflow_runs_the_basic_auth_app_with_its_users_in_the_stacks_postgresql(resolved):
    mlflow, postgres = resolved["services"]["mlflow"], resolved["services"]["postgres"]
    assert mlflow["command"] == ["start-server.sh"]  # docker/mlflow/start-server.sh: --app-name basic-auth
    dockerfile = (ROOT / "docker" / "mlflow" / "Dockerfile").read_text()
    assert "COPY start-server.sh /usr/local/bin/" in dockerfile and '"Flask-WTF<2"' in dockerfile
    env, example = mlflow["environment"], env_example()
    assert env["MLFLOW_AUTH_DATABASE_URI"] == "postgresql+psycopg2://mlflow:change-me@postgres:5432/mlflow_auth"
    assert postgres["environment"]["MLFLOW_AUTH_DB"] == "mlflow_auth"
    init = [v["target"] if isinstance(v, dict) else v.split(":")[1] for v in postgres["volumes"]]
    assert "/docker-entrypoint-initdb.d/10-create-auth-database.sh" in init
    for key in ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY"):
        assert env[key] == example[key]  # from .env, nowhere else
    assert len(example["MLFLOW_AUTH_ADMIN_PASSWORD"]) >= 12  # MLflow refuses a shorter admin password


def env_example() -> dict:
    """The settings of .env.example."""
    return dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line and line[0] != "#")


def test_credentials_come_only_from_the_env_file(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    done = compose("config", env_file=empty)
    assert done.returncode != 0 and "in .env" in done.stderr
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    example = env_example()
    assert used <= set(example)
    assert all("change-me" in example[key] for key in example if key.endswith(("PASSWORD", "SECRET_KEY")))


def test_file_matches_the_compose_spec(tmp_path):
    check = ["check-jsonschema", "--builtin-schema", "vendor.compose-spec"]
    assert shutil.which(check[0]), "no check-jsonschema: pip install -e '.[dev]'"
    done = subprocess.run([*check, str(COMPOSE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("healthcheck:", "healthchek:", 1))  # a typo it must catch
    assert subprocess.run([*check, str(broken)], capture_output=True, timeout=60).returncode != 0
