"""The direction of imports: the shared core below everything, routes and processors apart, devtools on top.

devtools/          may import anything
processors/        may import ingest.core only (and each other)
ingest/ (routes)   may import ingest.core only
ingest/core/       imports nothing of this project outside itself
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES: list[tuple[str, tuple[str, ...]]] = [
    # (package, prefixes it must not import)
    ("ingest/core", ("ingest.", "processors", "devtools")),
    ("ingest", ("processors", "devtools")),
    ("processors", ("devtools", "ingest.")),
]
ALLOWED = ("ingest.core",)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "ingest":
                found += [(node.lineno, f"ingest.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if package == "ingest" and path.is_relative_to(ROOT / "ingest" / "core"):
            continue
        for line, module in imported_modules(path):
            if module.startswith(ALLOWED) or module == "ingest":
                continue
            if module.startswith(forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


@pytest.mark.parametrize(("package", "forbidden"), RULES, ids=[package for package, _ in RULES])
def test_imports_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    assert violations(package, forbidden) == []


def test_the_checker_sees_a_backward_import(tmp_path: Path) -> None:
    module = tmp_path / "routes.py"
    module.write_text("from processors.webhooks.delivery import Deliverer\nfrom ingest import api\n")

    assert [name for _, name in imported_modules(module)] == ["processors.webhooks.delivery", "ingest.api"]
