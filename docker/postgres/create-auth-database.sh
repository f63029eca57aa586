#!/bin/sh
# Runs once, when the postgres image initializes an empty data volume (/docker-entrypoint-initdb.d): a second
# database, for MLflow's users and permissions, beside the runs' own. A volume made before this file existed:
#   docker compose exec postgres createdb -U "$POSTGRES_USER" mlflow_auth
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -c "CREATE DATABASE \"${MLFLOW_AUTH_DB:-mlflow_auth}\""
