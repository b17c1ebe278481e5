"""Imports run one way: every module's imports, function-level ones included, parsed.

From the ground up the floors are geometry (with atomic, allocator, errors, config), data,
models and losses, training, generation, assets, evaluation, and on top cli, viewer and
demo. A module never imports from a higher floor, nothing outside ``gina3d.data`` imports a
particular source (except the verbs that build one), and no modules import each other in a cycle.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "gina3d"
FLOORS = {
    "__init__": 0,
    "__main__": 7,
    "geometry": 0,
    "atomic": 0,
    "allocator": 0,
    "errors": 0,
    "config": 0,
    "data": 1,
    "models": 2,
    "losses": 2,
    "training": 3,
    "generation": 4,
    "assets": 5,
    "evaluation": 6,
    "cli": 7,
    "viewer": 7,
    "demo": 7,
}
# the verbs that build a dataset from one source
SOURCE_USERS = {"gina3d.cli.synth", "gina3d.cli.waymo"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The gina3d module an import names (a submodule if it is one, else its package)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every gina3d module ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name == "gina3d" or name.startswith("gina3d."):
                target = resolve(name, known)
                if target is not None:
                    found.add(target)
    return found


def floor(module: str) -> int:
    parts = module.split(".")
    return FLOORS[parts[1]] if len(parts) > 1 else 0


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, known) - {m} for m, p in known.items()}


def test_every_top_level_module_has_a_floor():
    tops = {p.stem for p in ROOT.glob("*.py")} | {
        p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()
    }
    assert tops <= set(FLOORS), tops - set(FLOORS)


def test_no_module_imports_from_a_higher_floor(graph):
    upward = sorted(
        f"{src} (floor {floor(src)}) imports {dst} (floor {floor(dst)})"
        for src, dsts in graph.items()
        for dst in dsts
        if floor(dst) > floor(src)
    )
    assert not upward, "\n".join(upward)


def test_only_data_and_the_build_verbs_import_a_source(graph):
    users = sorted(
        f"{src} imports {dst}"
        for src, dsts in graph.items()
        for dst in dsts
        if dst.startswith("gina3d.data.sources.")
        and not src.startswith("gina3d.data.")
        and src not in SOURCE_USERS
    )
    assert not users, "\n".join(users)


def test_no_import_cycles(graph):
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_see_function_level_imports(tmp_path):
    """The parser finds an import inside a function and resolves submodules."""
    known = {"gina3d.assets.turntable": Path(), "gina3d.geometry": Path()}
    f = tmp_path / "m.py"
    f.write_text(
        "def f():\n    from gina3d.assets.turntable import x\n    import gina3d.geometry\n"
    )
    assert imports(f, known) == {"gina3d.assets.turntable", "gina3d.geometry"}
