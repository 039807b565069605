"""No import cycles between the modules of `sightline`.

The graph is built from the source with `ast` (nothing is imported). An edge a -> b means
that importing module a executes an import of module b: top-level statements, including
those inside top-level `try`/`if`/`with` blocks, count; imports under `if TYPE_CHECKING:` and
inside function or class bodies do not (a function-level import is the deliberate way to
defer loading). `from pkg import name` resolves to `pkg.name` when that is a module, else to
`pkg`. Importing `a.b` adds an edge to `a.b` only, not to the package `a`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "sightline"
EXCLUDED = ("sightline.db.migrations",)
MAX_CYCLES_PER_COMPONENT = 200


@dataclass
class ImportGraph:
    """Modules, and for each module the sightline modules it imports (with the line)."""

    src_root: Path
    modules: dict[str, Path]
    edges: dict[str, dict[str, int]] = field(default_factory=dict)

    def successors(self, module: str) -> list[str]:
        return sorted(self.edges.get(module, {}))


def _module_name(src_root: Path, path: Path) -> str:
    parts = list(path.relative_to(src_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_excluded(name: str, excluded: Iterable[str]) -> bool:
    return any(name == e or name.startswith(e + ".") for e in excluded)


def _type_checking_test(test: ast.expr) -> bool | None:
    """True for `TYPE_CHECKING` / `typing.TYPE_CHECKING`, False for their negation."""

    def is_flag(node: ast.expr) -> bool:
        return (isinstance(node, ast.Name) and node.id == "TYPE_CHECKING") or (
            isinstance(node, ast.Attribute) and node.attr == "TYPE_CHECKING"
        )

    if is_flag(test):
        return True
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and is_flag(test.operand):
        return False
    return None


def _import_time_statements(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported (not in defs, not typing-only)."""
    for stmt in body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            yield stmt
        elif isinstance(stmt, ast.If):
            flag = _type_checking_test(stmt.test)
            if flag is not True:
                yield from _import_time_statements(stmt.body)
            if flag is not False:
                yield from _import_time_statements(stmt.orelse)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            yield from _import_time_statements(stmt.body)
            for handler in stmt.handlers:
                yield from _import_time_statements(handler.body)
            yield from _import_time_statements(stmt.orelse)
            yield from _import_time_statements(stmt.finalbody)
        elif isinstance(stmt, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While):
            yield from _import_time_statements(stmt.body)
            yield from _import_time_statements(getattr(stmt, "orelse", []))
        elif isinstance(stmt, ast.Match):
            for case in stmt.cases:
                yield from _import_time_statements(case.body)
        # FunctionDef, AsyncFunctionDef, ClassDef: deliberately not entered.


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module `name` denotes: itself, else its longest prefix that is a module."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _base_of_relative(module: str, is_package: bool, level: int) -> str:
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return package


def build_import_graph(src_root: Path, package: str, excluded: Iterable[str] = ()) -> ImportGraph:
    """The import-time import graph of `package`, found at `src_root / package`."""
    excluded = tuple(excluded)
    modules: dict[str, Path] = {}
    for path in sorted((src_root / package).rglob("*.py")):
        name = _module_name(src_root, path)
        if not _is_excluded(name, excluded):
            modules[name] = path
    graph = ImportGraph(src_root, modules, {name: {} for name in modules})

    def in_scope(target: str) -> bool:
        return (target == package or target.startswith(package + ".")) and not _is_excluded(
            target, excluded
        )

    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for stmt in _import_time_statements(tree.body):
            targets: list[str] = []
            if isinstance(stmt, ast.Import):
                targets = [alias.name for alias in stmt.names]
            else:
                if stmt.level:
                    base = _base_of_relative(module, is_package, stmt.level)
                    source = f"{base}.{stmt.module}" if stmt.module else base
                else:
                    source = stmt.module or ""
                for alias in stmt.names:
                    submodule = f"{source}.{alias.name}"
                    targets.append(submodule if submodule in modules else source)
            for target in targets:
                if not in_scope(target):
                    continue
                resolved = _resolve(target, modules)
                if resolved is not None:
                    graph.edges[module].setdefault(resolved, stmt.lineno)
    return graph


def strongly_connected_components(graph: ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (no recursion limit on deep import chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work.append((root, iter(graph.successors(root))))
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph.successors(succ))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def cyclic_components(graph: ImportGraph) -> list[list[str]]:
    """Components with more than one module, and modules that import themselves."""
    return [
        component
        for component in strongly_connected_components(graph)
        if len(component) > 1 or component[0] in graph.edges.get(component[0], {})
    ]


def elementary_cycles(graph: ImportGraph, component: list[str]) -> list[list[str]]:
    """Every simple cycle inside one component (up to a cap), each starting at its smallest
    module, as a closed path [a, b, ..., a]."""
    members = set(component)
    cycles: list[list[str]] = []
    for start in sorted(component):
        allowed = {m for m in members if m >= start}
        path = [start]
        on_path = {start}
        work: list[Iterator[str]] = [iter(graph.successors(start))]
        while work and len(cycles) < MAX_CYCLES_PER_COMPONENT:
            for succ in work[-1]:
                if succ == start:
                    cycles.append([*path, start])
                elif succ in allowed and succ not in on_path:
                    path.append(succ)
                    on_path.add(succ)
                    work.append(iter(graph.successors(succ)))
                    break
            else:
                work.pop()
                on_path.discard(path.pop())
    return cycles


def describe_cycles(graph: ImportGraph) -> str:
    lines: list[str] = []
    for component in cyclic_components(graph):
        lines.append(f"import cycle among {len(component)} module(s): {', '.join(component)}")
        cycles = elementary_cycles(graph, component)
        for cycle in cycles:
            lines.append("  " + " -> ".join(cycle))
            for a, b in pairwise(cycle):
                path = graph.modules[a].relative_to(graph.src_root)
                lines.append(f"      {a} -> {b}  ({path}:{graph.edges[a][b]})")
        if len(cycles) >= MAX_CYCLES_PER_COMPONENT:
            lines.append(f"  ... (only the first {MAX_CYCLES_PER_COMPONENT} cycles are listed)")
    return "\n".join(lines)


def test_sightline_has_no_import_cycles() -> None:
    graph = build_import_graph(SRC, PACKAGE, EXCLUDED)
    assert len(graph.modules) > 50, "the sightline sources were not found"
    assert sum(len(e) for e in graph.edges.values()) > 100, "no imports were found"
    report = describe_cycles(graph)
    if report:
        print(report)
    assert not report, "import cycles between sightline modules:\n" + report


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_graph_sees_cycles_and_ignores_deferred_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "try:\n    import pkg.sub.c as c\nexcept ImportError:\n    c = None\n",
            "pkg/sub/__init__.py": "from .c import VALUE\n",
            "pkg/sub/c.py": "if True:\n    from ..a import thing\nVALUE = 1\n",
            # Deferred or typing-only: no edges, so no cycle d <-> e.
            "pkg/d.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg import e\n"
                "def f():\n    from pkg import e\n"
                "class K:\n    import pkg.e\n"
            ),
            "pkg/e.py": "import pkg.d\nimport os\n",
            "pkg/selfish.py": "import pkg.selfish\n",
            "pkg/excluded/__init__.py": "import pkg.a\n",
        },
    )
    graph = build_import_graph(tmp_path, "pkg", excluded=["pkg.excluded"])

    assert "pkg.excluded" not in graph.modules
    assert graph.successors("pkg.a") == ["pkg.b"]
    assert graph.successors("pkg.b") == ["pkg.sub.c"]  # no implicit edge to pkg.sub
    assert graph.successors("pkg.sub") == ["pkg.sub.c"]
    assert graph.successors("pkg.sub.c") == ["pkg.a"]  # relative, `from ..a import thing`
    assert graph.successors("pkg.d") == []
    assert graph.successors("pkg.e") == ["pkg.d"]
    assert cyclic_components(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"], ["pkg.selfish"]]
    report = describe_cycles(graph)
    assert "  pkg.a -> pkg.b -> pkg.sub.c -> pkg.a\n" in report + "\n"
    assert "  pkg.selfish -> pkg.selfish\n" in report + "\n"
    assert "pkg.d" not in report and "pkg.e" not in report

    # Breaking the cycle by deferring the import makes the graph acyclic.
    _write(tmp_path, {"pkg/sub/c.py": "def g():\n    from ..a import thing\n"})
    _write(tmp_path, {"pkg/selfish.py": ""})
    assert cyclic_components(build_import_graph(tmp_path, "pkg", ["pkg.excluded"])) == []
