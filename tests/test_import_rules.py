"""Import rules that keep the layers apart (issue 13): ``libs/`` imports no service; a service
imports the libraries and other services only through their clients; the gateway and the
orchestrator import no model package; production code never imports the test
support (harnesses, fakes of external services, tiny random-weight models), which lives in
``tests/support`` and is imported by tests and benches only; and no two modules import each
other, directly or round a circle, lazy imports inside functions included (a lazy import
that only breaks a circle at load time still ties the two modules together)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = sorted(
    path
    for tree in ("services", "libs", "apps", "tools")
    for path in (ROOT / tree).glob("*/src/**/*.py")
)
TEST_ONLY = ("tests", "conftest")
# Each service's import package (services/<name>/src/globalpic_<name>).
SERVICES = {
    f"globalpic_{path.name}"
    for path in (ROOT / "services").iterdir()
    if (path / "src" / f"globalpic_{path.name}").is_dir()
}
MODEL_SERVICES = {"globalpic_ocr", "globalpic_segmentation", "globalpic_generation"} | {
    "globalpic_copywriting"
}
# Storage is reached in process or through its client, chosen by one module of its own
# (``access``); these are its surface for other services (its protocol, client, settings).
STORAGE_SURFACE = {
    "globalpic_storage",
    "globalpic_storage.access",
    "globalpic_storage.protocol",
    "globalpic_storage.settings",
    "globalpic_storage.signing",
    "globalpic_storage.errors",
}


def module_name(path: Path) -> str:
    """``services/x/src/pkg/mod.py`` -> ``pkg.mod``; ``bench/mod.py`` -> ``bench.mod``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    if "src" in parts:
        parts = parts[parts.index("src") + 1 :]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(paths: list[Path]) -> dict[str, set[str]]:
    """Module -> the modules among ``paths`` it imports. ``from pkg import mod`` names the
    submodule ``pkg.mod`` when there is one; a module's own parent package is no edge (Python
    initialises it first whatever the code says)."""
    names = {module_name(path): path for path in paths}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if sub in names else node.module)
        graph[name] = {
            t for t in targets if t in names and t != name and not name.startswith(t + ".")
        }
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, lazy ones inside functions included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _tree(path: Path) -> tuple[str, str]:
    """(``services`` / ``libs`` / ``apps`` / ``tools``, its package's import name)."""
    parts = path.relative_to(ROOT).parts
    return parts[0], module_name(path).split(".")[0]


def test_the_production_tree_is_found() -> None:
    names = {path.name for path in PRODUCTION}
    assert {"clean.py", "sam.py", "u2net.py", "app.py", "runner.py", "embedded.py"} <= names
    assert {"globalpic_gateway", "globalpic_orchestrator", "globalpic_ocr"} <= SERVICES


def test_the_libraries_import_no_service() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in PRODUCTION
        if _tree(path)[0] == "libs"
        for line, module in imported_modules(path)
        if module.split(".")[0] in SERVICES
    ]
    assert not offenders, "\n".join(offenders)


def test_a_service_imports_other_services_only_through_their_clients() -> None:
    """The model services' clients are ``globalpic_clients`` (a library); storage's surface is
    its ``access`` / ``protocol`` / settings. Only the composition roots (``apps/``, the dev
    tooling in ``tools/``, ``bench/``) build another service's classes."""
    offenders = []
    for path in PRODUCTION:
        tree, own = _tree(path)
        if tree != "services":
            continue
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in SERVICES and top != own and module not in STORAGE_SURFACE:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not offenders, "\n".join(offenders)


def test_the_gateway_and_the_orchestrator_import_no_model() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in PRODUCTION
        if _tree(path)[1] in {"globalpic_gateway", "globalpic_orchestrator"}
        for line, module in imported_modules(path)
        if module.split(".")[0] in MODEL_SERVICES | {"globalpic_cli", "cv2", "onnxruntime", "torch"}
    ]
    assert not offenders, "\n".join(offenders)


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


def test_a_circle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    benches = sorted((ROOT / "bench").glob("**/*.py"))
    assert circles(import_graph([*PRODUCTION, *benches])) == []
