"""Outside seqlab/basics/ (which teaches by hand), a training loss is back-propagated in
one function: seqlab.models.training.backward. This test finds every ``.backward(...)``
call in seqlab/ and names the function it is in."""
import ast
from pathlib import Path

import seqlab

ROOT = Path(seqlab.__file__).parent
ENGINE = "models/training.py:backward"
def backward_calls() -> set[str]:
    found = set()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("basics/"):
            continue

        def visit(node, scope):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    visit(child, scope + [child.name])
                    continue
                if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                        and child.func.attr == "backward"):
                    found.add(f"{rel}:{'.'.join(scope)}")
                visit(child, scope)
        visit(ast.parse(path.read_text(encoding="utf-8")), [])
    return found


def test_training_back_propagates_in_one_function():
    found = backward_calls()
    assert ENGINE in found
    assert found == {ENGINE}, sorted(found - {ENGINE})
