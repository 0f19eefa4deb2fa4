"""Import rules that keep the layers apart (issue 13): production code never imports the test
support (harnesses, fakes of external services, tiny random-weight models), which lives in
``tests/support`` and is imported by tests and benches only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = sorted(
    path for tree in ("services", "libs") for path in (ROOT / tree).glob("*/src/**/*.py")
)
TEST_ONLY = ("tests", "conftest")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, lazy ones inside functions included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_the_production_tree_is_found() -> None:
    names = {path.name for path in PRODUCTION}
    assert {"clean.py", "sam.py", "u2net.py", "app.py"} <= names


def test_production_code_imports_no_test_support() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in PRODUCTION
        for line, module in imported_modules(path)
        if module.split(".")[0] in TEST_ONLY
    ]
    assert not offenders, "\n".join(offenders)


def test_no_test_support_module_is_left_in_a_production_package() -> None:
    # Harnesses and tiny models moved to tests/support; a new one belongs there too.
    suspicious = [
        str(path.relative_to(ROOT))
        for path in PRODUCTION
        if path.stem in {"testing", "fake_openai"}
        or path.stem.endswith("_tiny")
        or path.stem.startswith("tiny_")
    ]
    assert not suspicious, suspicious
