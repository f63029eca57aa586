"""The package's layout holds: imports run one way (down the layers of docs/architecture.md), modules stay small."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
# Top to bottom: a module may import its own package and anything in a lower layer, never a higher or a sibling one.
LAYERS = [
    ["sweep.train", "sweep.compare", "hydra_plugins.sweep_sweepers", "hydra_plugins.sweep_launchers"],
    ["hydra_plugins.sweep_callbacks", "sweep.apps"],  # sweep's sweepers and tracking in any Hydra app
    ["sweep.launch", "sweep.search", "sweep.race"],
    ["sweep.training", "sweep.analysis"],
    ["sweep.inference"],
    ["sweep.tracking", "sweep.models"],  # siblings: model code never imports tracking (MLflow)
    ["sweep.config"],
    ["sweep.data"],
    ["sweep.process"],
]
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 150, 40


def _part(module: str) -> str:
    """The layer entry a dotted module name belongs to (its subpackage, or the entry point itself)."""
    return next((p for layer in LAYERS for p in layer if module == p or module.startswith(p + ".")), "")


def _layer(part: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if part in layer)


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        yield name, path, ast.parse(path.read_text())


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_every_module_has_a_place_in_the_layers():
    homeless = [name for name, _, _ in _modules() if name != "sweep" and not _part(name)]
    assert homeless == []


@pytest.mark.parametrize("name, path, tree", list(_modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_imports_run_down_the_layers(name, path, tree):
    own = _part(name)
    if not own:
        return
    wrong = []
    for target in _imports(tree):
        other = _part(target)
        if other and other != own and _layer(other) <= _layer(own):
            wrong.append(f"{name} imports {target} ({other} is not below {own})")
    assert wrong == []


def test_modules_and_functions_stay_small():
    too_long = []
    for name, path, tree in _modules():
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []
