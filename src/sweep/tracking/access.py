"""Who the tracking server says we are and what we may do there (MLflow's basic-auth app), asked before any write.

Credentials are MLflow's own: MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD. A user name and password
written into an http(s) MLFLOW_TRACKING_URI are moved into those variables, so that no URL sweep or MLflow prints,
and no variable a job inherits, holds the password.
"""

import os
from typing import Optional
from urllib.parse import unquote, urlsplit, urlunsplit

from mlflow.exceptions import MlflowException
from mlflow.utils.credentials import get_default_host_creds
from mlflow.utils.rest_utils import http_request, verify_rest_response

from sweep.tracking import retries, secrets
from sweep.tracking.errors import StoreError

ENV_USER, ENV_PASSWORD = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"
CREDENTIALS = f"{ENV_USER}, {ENV_PASSWORD}"
WRITE = {"EDIT", "MANAGE", "ADMIN"}  # what a run's creation needs on its experiment (ADMIN: a server admin)
CURRENT_USER = "/api/2.0/mlflow/users/current"
USER_PERMISSION = "/api/3.0/mlflow/users/permissions/get"  # the server's own answer, as its checks resolve it


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def adopt_uri_credentials(uri: str) -> str:
    """The URI without user info; a user name and password found there go to MLflow's variables (unless set)."""
    parts = urlsplit(uri)
    if not is_http(uri) or parts.password is None:
        return uri
    if not os.environ.get(ENV_PASSWORD):  # as in MLflow's own requests, the variables win over the URI
        os.environ[ENV_USER], os.environ[ENV_PASSWORD] = unquote(parts.username or ""), unquote(parts.password)
    host = parts.netloc.rpartition("@")[2]
    plain = urlunsplit(parts._replace(netloc=host))
    os.environ["MLFLOW_TRACKING_URI"] = plain  # what jobs inherit and MLflow resolves from now on
    return plain


def _status(exc: BaseException) -> Optional[int]:
    getter = getattr(exc, "get_http_status_code", None)
    return getter() if isinstance(exc, MlflowException) and getter else None


def login_problem(exc: BaseException, uri: str) -> Optional[str]:
    """One line for an error the server gave because of who we are (401, 403), else None."""
    status, server, user = _status(exc), secrets.display_uri(uri), os.environ.get(ENV_USER)
    if status == 401 and not (user and os.environ.get(ENV_PASSWORD)):
        return f"{CREDENTIALS}: the tracking server {server} requires a login: set both (your MLflow user and password)"
    if status == 401:
        return (
            f"{CREDENTIALS}: the tracking server {server} rejected the login of user {user!r} (wrong user or password)"
        )
    if status == 403:
        return f"{ENV_USER}: user {user!r} is not allowed to do this on {server} (ask an admin of the server)"
    return None


def store_error(exc: BaseException, uri: str) -> StoreError:
    """The one-line StoreError for a failed request to the store: who we are (401, 403), else reachability."""
    reason = secrets.redact(str(exc).splitlines()[0][:200]) if str(exc) else type(exc).__name__
    where = secrets.display_uri(uri)
    return StoreError(
        login_problem(exc, uri) or f"MLFLOW_TRACKING_URI: cannot reach the tracking store {where} ({reason})"
    )


def _get(uri: str, endpoint: str, **params: str) -> Optional[dict]:
    """GET a REST endpoint of the server; None when the server has no such endpoint (404)."""
    response = http_request(get_default_host_creds(uri), endpoint, "GET", params=params)
    if response.status_code == 404:
        return None
    verify_rest_response(response, endpoint)  # raises MlflowException with the status (401: not logged in)
    return response.json()


def permission(uri: str, experiment_id: str) -> Optional[str]:
    """This user's permission on the experiment as the server resolves it (ADMIN for an admin), or None.

    None where nothing can be asked: not a server, a server without the basic-auth app, or an MLflow older than
    its permission API (such a server still refuses a write it does not allow, with 403). Raises StoreError.
    """
    if not is_http(uri):
        return None
    try:
        with retries.fail_fast():
            return _ask(uri, experiment_id)
    except Exception as exc:  # noqa: BLE001 - any failure gets the same one-line answer as the probe's
        raise store_error(exc, uri) from exc


def _ask(uri: str, experiment_id: str) -> Optional[str]:
    me = _get(uri, CURRENT_USER)
    if me is None:
        return None
    if me["user"].get("is_admin"):
        return "ADMIN"
    name = me["user"]["username"]
    found = _get(uri, USER_PERMISSION, username=name, resource_type="experiment", resource_id=experiment_id)
    return None if found is None else found.get("permission")


def may_write(uri: str, experiment_id: str) -> bool:
    """Whether the store takes this user's writes (runs, tags, artifacts) in the experiment."""
    granted = permission(uri, experiment_id)
    return granted is None or granted in WRITE


def check_can_write(uri: str, experiment_id: str, name: str) -> None:
    """Raise StoreError when the server would refuse this user's runs in the experiment: before any is created."""
    granted = permission(uri, experiment_id)
    if granted is not None and granted not in WRITE:
        raise StoreError(
            f"{ENV_USER}: user {os.environ.get(ENV_USER)!r} has {granted} permission on experiment {name!r} at "
            f"{secrets.display_uri(uri)}; training needs EDIT or MANAGE: ask its owner or an admin to grant it, "
            "or train into an experiment of your own (mlflow.experiment=NAME)"
        )
