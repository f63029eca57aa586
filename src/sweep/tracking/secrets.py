"""Keep passwords and tokens out of what sweep prints and logs: URIs shown without them, any text masked."""

import os
import re
from typing import List

MASK = "***"
# Variables whose values are secrets wherever they turn up: MLflow's (MLFLOW_TRACKING_PASSWORD, _TOKEN), the team
# stack's .env (POSTGRES_PASSWORD, MLFLOW_AUTH_ADMIN_PASSWORD, MLFLOW_FLASK_SERVER_SECRET_KEY, ...), S3's.
SECRET_NAME = re.compile(r"(PASSWORD|TOKEN|SECRET|SECRET_KEY|SECRET_ACCESS_KEY)$")
# The password of a URI's user info: scheme://user:PASSWORD@host
URI_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s/]+)(?=@)")
SHORTEST = 4  # shorter values would mask ordinary words; no server accepts such a password
NOT_SECRET = re.compile(r"(?i)(true|false|yes|no|on|off|none|null|\d+)")  # a switch such as HF_HUB_DISABLE_..._TOKEN


def display_uri(uri: str) -> str:
    """The URI as it may be printed: a password in its user info replaced by ***."""
    return URI_PASSWORD.sub(lambda m: m.group("head") + MASK, uri)


def secret_values() -> List[str]:
    """The secrets this process knows: values of secret-named variables, passwords inside URIs in the environment."""
    found = {value for name, value in os.environ.items() if SECRET_NAME.search(name.upper())}
    for value in os.environ.values():
        found.update(m.group("password") for m in URI_PASSWORD.finditer(value))
    found = {v for v in found if len(v) >= SHORTEST and not NOT_SECRET.fullmatch(v)}
    return sorted(found, key=len, reverse=True)  # longest first: no partial mask


def redact(text: str) -> str:
    """`text` with every known secret, and any URI's password, replaced by ***."""
    text = display_uri(text)
    for value in secret_values():
        text = text.replace(value, MASK)
    return text
