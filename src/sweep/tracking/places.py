"""Whether a file can be created or written at a path, asked without creating anything (stores, Optuna storages)."""

import os
from pathlib import Path
from typing import Optional


def existing_parent(path: Path) -> Path:
    """The nearest folder above `path` that exists (or the file that stands where a folder should)."""
    above = path.parent
    while not above.exists():
        above = above.parent
    return above


def problem(path: Path) -> Optional[str]:
    """Why a file at `path` cannot be created or written (its folders made as needed), or None if it can."""
    if path.exists():
        if not path.is_file():
            return f"{path} is a directory, not a file"
        if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
            return f"{path} (or its directory) is not writable"
        return None
    above = existing_parent(path)
    if not above.is_dir():
        beyond = "" if above == path.parent else f", so {path.parent} cannot be one"
        return f"{above} is a file, not a directory{beyond}"
    if not os.access(above, os.W_OK | os.X_OK):
        return f"{above} is not writable, so {path.name} cannot be created there"
    return None
