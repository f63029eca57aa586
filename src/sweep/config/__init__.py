"""What a user asked for, checked before anything runs: schema, checks, overrides, the plan, cells and options."""

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"  # the repository's conf/ (sweep is installed editable)
