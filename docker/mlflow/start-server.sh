#!/bin/sh
# Start `mlflow server` with MLflow's basic-auth app. The app reads its settings from an INI file; this writes that
# file from the environment at every start (readable by this user only), so the auth database's password is in no
# image and no repository. Arguments go to `mlflow server`; its own options come from MLFLOW_* variables.
#   MLFLOW_AUTH_DATABASE_URI        where users and permissions live (required)
#   MLFLOW_AUTH_ADMIN_USERNAME      the admin created on the first start (default: admin)
#   MLFLOW_AUTH_ADMIN_PASSWORD      its password, at least 12 characters; read on the first start only (required)
#   MLFLOW_FLASK_SERVER_SECRET_KEY  signs the UI's CSRF tokens, the same on every worker (required)
#   MLFLOW_AUTH_DEFAULT_PERMISSION  what a user may do where nobody granted anything (default: READ)
#   MLFLOW_AUTH_CACHE_TTL_SECONDS   how long a worker trusts a checked login (default: 60; 0: check every request)
#   MLFLOW_AUTH_CONFIG_PATH         where the INI file goes (default: /tmp/mlflow-auth/basic_auth.ini)
set -eu
: "${MLFLOW_AUTH_DATABASE_URI:?set MLFLOW_AUTH_DATABASE_URI (the auth database)}"
: "${MLFLOW_AUTH_ADMIN_PASSWORD:?set MLFLOW_AUTH_ADMIN_PASSWORD (12 characters or more)}"
: "${MLFLOW_FLASK_SERVER_SECRET_KEY:?set MLFLOW_FLASK_SERVER_SECRET_KEY}"
MLFLOW_AUTH_CONFIG_PATH="${MLFLOW_AUTH_CONFIG_PATH:-/tmp/mlflow-auth/basic_auth.ini}"
export MLFLOW_AUTH_CONFIG_PATH
umask 077
mkdir -p "$(dirname "$MLFLOW_AUTH_CONFIG_PATH")"
# The password stays in MLFLOW_AUTH_ADMIN_PASSWORD (MLflow reads it there), out of the file.
cat > "$MLFLOW_AUTH_CONFIG_PATH" <<INI
[mlflow]
default_permission = ${MLFLOW_AUTH_DEFAULT_PERMISSION:-READ}
database_uri = ${MLFLOW_AUTH_DATABASE_URI}
admin_username = ${MLFLOW_AUTH_ADMIN_USERNAME:-admin}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
# Checking a password (scrypt) costs 0.1-0.5 s of CPU: without the cache every request of every job pays it.
# A changed password or removed user reaches the other workers within this time.
auth_cache_ttl_seconds = ${MLFLOW_AUTH_CACHE_TTL_SECONDS:-60}
INI
exec mlflow server --app-name basic-auth "$@"
