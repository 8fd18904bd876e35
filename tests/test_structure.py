"""The package's shape stays readable: imports run downward, files stay small,
one estimator class is read in few places and keeps little private state."""

import ast
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from skorch import NeuralNetClassifier

import nnestimators
from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor

PACKAGE = Path(nnestimators.__file__).parent
MAX_LINES = 600
# Imports inside functions: the command line's one lazy dispatch keeps
# ``nnestimators --help`` fast; anything else crossing layers is a cycle hidden.
MAX_IMPORTS_IN_FUNCTIONS = 2


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(name, path, modules):
    """``(imported module, inside a function)`` for each of the package's imports.

    ``from package import module`` imports that module; ``from module import
    name`` imports the module.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef
            )
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join(filter(None, [*anchor, base]))
                for alias in child.names:
                    submodule = f"{base}.{alias.name}"
                    found.append((submodule if submodule in modules else base, nested))
            elif isinstance(child, ast.Import):
                found.extend((alias.name, nested) for alias in child.names)
            visit(child, nested)

    visit(tree, False)
    return found


def _graph():
    modules = dict(_modules())
    graph, in_functions = {}, []
    for name, path in modules.items():
        edges = set()
        for target, nested in _imports(name, path, modules):
            if target in modules and target != name:
                edges.add(target)
                if nested:
                    in_functions.append((name, target))
        graph[name] = edges
    return graph, in_functions


def test_no_import_cycle_among_the_packages_modules():
    graph, _ = _graph()
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target, [*stack, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_few_imports_of_the_package_inside_functions():
    _, in_functions = _graph()
    assert len(in_functions) <= MAX_IMPORTS_IN_FUNCTIONS, in_functions


def test_no_module_over_600_lines():
    long = {
        str(path.relative_to(PACKAGE)): n
        for _, path in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long


def test_few_classes_of_ours_in_the_estimators_method_resolution_order():
    for estimator in (NNClassifier, NNBinaryClassifier, NNRegressor):
        ours = [c for c in estimator.__mro__ if c.__module__.startswith("nnestimators")]
        assert len(ours) <= 6, ours


def test_a_fitted_classifier_keeps_little_private_state():
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    settings = dict(max_epochs=2, validation_fraction=0.2, metrics=["accuracy"])
    ours = NNClassifier(random_state=0, n_threads=1, **settings).fit(X, y)
    stock = NeuralNetClassifier(type(ours.module_), max_epochs=1, verbose=0)
    stock.set_params(module__n_features=4, module__n_outputs=3).fit(X, y)
    private = {k for k in vars(ours) if k.startswith("_")}
    stock_private = {k for k in vars(stock) if k.startswith("_")}
    assert len(private - stock_private) <= 4, sorted(private - stock_private)
    # Nothing of the fit's session is left behind.
    assert "fit_session_" not in vars(ours)
