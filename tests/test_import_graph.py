"""seqlab's import graph has no circle: no module imports one that imports it back.

The graph is read from the source with ``ast``, so it sees every import a module can run:

* module-level imports and imports inside functions (a lazy import is still an import:
  the circle is there, it only waits for a call to close);
* relative imports, resolved against the importing module's package;
* ``from seqlab.x import y`` is an edge to ``seqlab.x.y`` when ``y`` is a module, else
  to ``seqlab.x`` (a package stands for its ``__init__.py``); ``import seqlab.x.y`` is
  an edge to ``seqlab.x.y``. The parent packages Python initialises on the way are not
  edges: every submodule would otherwise be in a circle with ``seqlab/__init__.py``;
* ``importlib.import_module`` calls, whose targets are listed in ``DYNAMIC_IMPORTS``.

Only ``if TYPE_CHECKING:`` blocks are skipped: they never run.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "seqlab"

# Modules that import others by a name computed at run time: module -> the modules its
# importlib.import_module calls can reach.
DYNAMIC_IMPORTS = {
    "seqlab.tasks": {f"seqlab.tasks.{name}"
                     for name in ("classify", "forecast", "generate", "seq2seq", "tag",
                                  "transcribe")},
}

# Edges that still close a circle, all inside the training engine (Model, its fit loop
# and its summary), which is being rewritten as one loop. Each entry is (importer,
# imported). Empty this list when the engine no longer needs them; a stale entry fails
# test_allowed_edges_still_exist so the list only shrinks.
ALLOWED_CYCLE_EDGES: set = set()  # no module imports one that imports it back


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _skipped(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """The seqlab modules that ``name`` imports -> the first line that does."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skipped, found = _skipped(tree), {}

    def add(target: str, line: int) -> None:
        if target not in modules:
            raise AssertionError(f"{path}:{line}: imports {target!r}, which is not a "
                                 f"seqlab module; the graph reader cannot resolve it.")
        found.setdefault(target, line)

    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "seqlab":
                    add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "seqlab":
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                add(sub if sub in modules else source, node.lineno)
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
                ("import_module", "__import__")):
            if name not in DYNAMIC_IMPORTS:
                raise AssertionError(
                    f"{path}:{node.lineno}: imports a module by a computed name. List the "
                    f"modules it can reach in DYNAMIC_IMPORTS[{name!r}] so the graph "
                    f"sees them.")
            for target in DYNAMIC_IMPORTS[name]:
                add(target, node.lineno)
    found.pop(name, None)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One circle ``[a, b, ..., a]`` of the directed graph, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {node: WHITE for node in graph}
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = BLACK
                stack.pop()
                path.pop()
            elif colour[child] == GREY:
                return path[path.index(child):] + [child]
            elif colour[child] == WHITE:
                colour[child] = GREY
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
    return None


def describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    return "\n".join(f"  {a} (line {graph[a][b]}) imports {b}"
                     for a, b in zip(cycle, cycle[1:]))


def without_allowed(graph):
    return {a: {b: line for b, line in edges.items() if (a, b) not in ALLOWED_CYCLE_EDGES}
            for a, edges in graph.items()}


# ---------------------------------------------------------------------- the reader itself
def test_find_cycle_finds_a_planted_circle_and_accepts_a_tree():
    tree = {"a": {"b": 1, "c": 2}, "b": {"c": 3}, "c": {}}
    assert find_cycle(tree) is None
    circle = {**tree, "c": {"a": 4}}
    assert find_cycle(circle) == ["a", "b", "c", "a"]
    assert "c (line 4) imports a" in describe(find_cycle(circle), circle)


def test_reader_sees_lazy_relative_and_submodule_imports(tmp_path, monkeypatch):
    package = tmp_path / "seqlab"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .leaf import x\n")
    (package / "sub" / "leaf.py").write_text(
        "x = 1\n"
        "def later():\n"
        "    from seqlab import top\n")
    (package / "top.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from seqlab.sub import leaf\n"
        "import seqlab.sub\n"
        "if TYPE_CHECKING:\n"
        "    from seqlab import never\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    graph = import_graph()
    assert graph["seqlab.top"] == {"seqlab.sub.leaf": 2, "seqlab.sub": 3}
    assert graph["seqlab.sub"] == {"seqlab.sub.leaf": 1}
    assert graph["seqlab.sub.leaf"] == {"seqlab.top": 3}  # the lazy import counts
    assert find_cycle(graph) == ["seqlab.sub", "seqlab.sub.leaf", "seqlab.top", "seqlab.sub"]


# ---------------------------------------------------------------------- seqlab's graph
def test_seqlab_has_no_import_cycle():
    graph = without_allowed(import_graph())
    cycle = find_cycle(graph)
    assert cycle is None, ("import cycle (a lazy import inside a function counts too):\n"
                           + describe(cycle, graph))


def test_allowed_edges_still_exist():
    graph = import_graph()
    stale = sorted(e for e in ALLOWED_CYCLE_EDGES if e[1] not in graph.get(e[0], {}))
    assert not stale, f"no longer imported, remove from ALLOWED_CYCLE_EDGES: {stale}"


def test_io_imports_nothing_above_it():
    """Loading a model finds classes through the registry that ``Layer.__init_subclass__``
    fills, not by importing model modules: io stands on the layers and the optimizers."""
    below = ("seqlab.layers", "seqlab.optimizers", "seqlab.activations", "seqlab.errors",
             "seqlab._version")
    graph, reached, todo = import_graph(), set(), ["seqlab.io"]
    while todo:
        for child in graph[todo.pop()]:
            if child not in reached:
                reached.add(child)
                todo.append(child)
    above = sorted(m for m in reached if not m.startswith(below))
    assert not above, f"seqlab.io reaches {above}"


@pytest.mark.parametrize("order", ["sorted", "reversed"])
def test_every_module_imports_in_a_fresh_interpreter(order):
    """Each seqlab module imported in turn, in one new interpreter, so a module that only
    works when another was imported first shows up."""
    names = sorted(all_modules())
    if order == "reversed":
        names.reverse()
    code = textwrap.dedent(f"""
        import importlib, traceback
        failed = []
        for name in {names!r}:
            try:
                importlib.import_module(name)
            except Exception:
                failed.append(name + ":\\n" + traceback.format_exc(limit=3))
        print("\\n".join(failed))
        raise SystemExit(1 if failed else 0)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
