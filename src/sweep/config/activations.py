"""The activations Keras knows by name, read from Keras' own source: checking `act.name` needs no TensorFlow.

Importing Keras imports TensorFlow (4-7 s), which every command's checks and the multirun parent would pay before
the first job starts. Keras' `activations.get(name)` looks names up in `ALL_OBJECTS_DICT` of
`keras/src/activations/__init__.py`; this reads that table and the functions' signatures with `ast`, and falls back
to asking Keras itself when its source is laid out otherwise. Written by hand: Keras offers no listing without its
backend. tests/test_cells.py checks that both ways give the same names.
"""

import ast
import importlib.util
import inspect
from functools import lru_cache
from pathlib import Path
from typing import Dict, Tuple


@lru_cache(maxsize=1)
def known() -> Tuple[str, ...]:
    """Every name `keras.activations.get` accepts whose function takes one tensor (other arguments defaulted)."""
    try:
        return from_source()
    except (OSError, SyntaxError, ValueError, AttributeError, TypeError):
        return from_keras()


def from_source() -> Tuple[str, ...]:
    """The names, read from Keras' source files without importing Keras."""
    spec = importlib.util.find_spec("keras")
    if spec is None or spec.origin is None:
        raise ValueError("keras is not installed")
    folder = Path(spec.origin).parent / "src" / "activations"
    table = _table(ast.parse((folder / "__init__.py").read_text()))
    functions = {
        node.name: node
        for node in ast.parse((folder / "activations.py").read_text()).body
        if isinstance(node, ast.FunctionDef)
    }
    names = tuple(sorted(n for n, fn in table.items() if fn in functions and _one_tensor(functions[fn].args)))
    if not names:
        raise ValueError("no activations found in Keras' source")
    return names


def _table(module: ast.Module) -> Dict[str, str]:
    """ALL_OBJECTS_DICT as {name: function name}: the functions of ALL_OBJECTS by their own names, then aliases."""
    table: Dict[str, str] = {}
    for node in module.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and target.id == "ALL_OBJECTS" and isinstance(value, ast.Set):
            table.update({elt.id: elt.id for elt in value.elts})
        elif isinstance(target, ast.Subscript) and getattr(target.value, "id", "") == "ALL_OBJECTS_DICT":
            table[target.slice.value] = value.id  # ALL_OBJECTS_DICT["swish"] = silu
    return table


def _one_tensor(args: ast.arguments) -> bool:
    positional = [*args.posonlyargs, *args.args]
    return bool(positional) and len(args.defaults) >= len(positional) - 1 and None not in args.kw_defaults


def from_keras() -> Tuple[str, ...]:
    """The names, from Keras itself (imports TensorFlow)."""
    from keras.src.activations import ALL_OBJECTS_DICT

    def one_tensor(fn) -> bool:
        rest = list(inspect.signature(fn).parameters.values())[1:]
        return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in rest)

    return tuple(sorted(name for name, fn in ALL_OBJECTS_DICT.items() if one_tensor(fn)))
