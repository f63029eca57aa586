#!/usr/bin/env bash
# What tests/test_compose.py, test_server.py and test_ray.py need on a fresh Debian machine, run as root:
#   PostgreSQL's server (the tests start their own private cluster on a loopback port, never the system one),
#   Debian's docker-compose (validates docker-compose.yml offline; no Docker engine is installed or needed),
#   the PostgreSQL driver for `mlflow server`, Hydra's Ray launcher with the Ray it works with, the Compose-spec check.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql docker-compose >/dev/null

# hydra-ray-launcher 1.2.2 pins cloudpickle<3, and joblib 1.6 (pulled in through MLflow's scikit-learn) needs
# cloudpickle>=3: joblib<1.6 keeps the set consistent (`pip check` clean).
python -m pip install -q \
  "psycopg2-binary>=2.9,<3" \
  "hydra-ray-launcher==1.2.2" "ray[default]>=2.60,<2.61" "joblib<1.6" \
  "check-jsonschema>=0.33,<1"
