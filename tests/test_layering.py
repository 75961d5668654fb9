"""The house rule, enforced: imports inside the package only point down the layers.

    kernels  <-  autograd  <-  nn  <-  optim, data, training  <-  cli

A module may import from its own layer or a lower one, never a higher one. The package's top-level
``__init__`` and ``__main__`` gather the public names and are exempt.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_rnn"
LAYER = {"kernels": 0, "autograd": 1, "nn": 2, "optim": 3, "data": 3, "training": 3, "cli": 4}


def _layer_of(parts):
    """Layer of a module given its dotted path below the package (a tuple of names)."""
    return LAYER[parts[0].removesuffix(".py")] if parts else None


def _imported_packages(path):
    """First component below tinygrad_rnn of every package-internal import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(PACKAGE).with_suffix("").parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = list(here[:-1])[: len(here) - node.level] if node.level > 1 else list(here[:-1])
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # "from .. import x" at the top of the package: x is the component
                    target = [alias.name for alias in node.names]
                found.extend([(node.lineno, target[0])] if target else [])
            elif node.module and node.module.split(".")[0] == "tinygrad_rnn":
                rest = node.module.split(".")[1:] or [alias.name for alias in node.names]
                found.append((node.lineno, rest[0]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == "tinygrad_rnn" and len(names) > 1:
                    found.append((node.lineno, names[1]))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in ("__init__.py", "__main__.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path):
    own = _layer_of(path.relative_to(PACKAGE).parts)
    for line, component in _imported_packages(path):
        other = LAYER.get(component.removesuffix(".py"))
        assert other is not None, f"{path.name}:{line} imports tinygrad_rnn.{component}, which is in no layer"
        assert other <= own, (f"{path.relative_to(PACKAGE)}:{line} (layer {own}) imports "
                              f"tinygrad_rnn.{component} (layer {other}), a higher layer")


def test_every_package_directory_has_a_layer():
    for directory in PACKAGE.iterdir():
        if directory.is_dir() and not directory.name.startswith("__"):
            assert directory.name in LAYER, f"{directory.name}/ is in no layer; add it to LAYER"
