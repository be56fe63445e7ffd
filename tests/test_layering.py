"""The core's import layering: a module imports only from its own stage or an earlier one, in the
order a run flows — declarations (names, the dataset registry) → config → data → models → methods →
analysis → training → figures → fronts — and the core never imports the app or the lessons."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "procrustes_core"
PACKAGE = "procrustes_core"

# Below the config: what a run's settings may name, torch-free (the config validates against them).
DECLARATIONS = {"_lazy", "errors", "files", "names", "jsontext", "data.registry", "data.loaders", "data.shipped",
                "data.split", "data.tables", "data.images", "data.your_files"}
STAGES = ["declarations", "config", "data", "models", "methods", "analysis", "training", "figures", "fronts"]
# The one import of a later stage, made inside a function when called and kept for the public API:
# TrainConfig.with_methods applies the catalogue's settings of named methods.
DEFERRED = {("config", "methods.catalogue")}
# Figures read results: they never build or drive a Trainer (the fronts and training/ do).
NEVER = {("figures", "training")}


def stage_of(module: str) -> str:
    """The stage of a module named relative to the package ("data.datasets", "cli")."""
    if module in DECLARATIONS:
        return "declarations"
    if module == "config":
        return "config"
    head = module.split(".")[0]
    return head if head in STAGES else "fronts"


def imports_of(source: str, module: str, is_package: bool = False, deferred: bool = True) -> list[str]:
    """The package's modules that ``source`` (the module ``module``) imports, at any depth of its code
    (only at module level unless ``deferred``) but outside ``if TYPE_CHECKING:`` blocks; ``app`` /
    ``lessons`` for imports of the fronts outside the core."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        typing_only = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        in_function = not deferred and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        if typing_only or in_function:
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    here = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                base = [PACKAGE, *base]
            else:
                base = []
            target = [*base, *(node.module.split(".") if node.module else [])]
            names = [".".join(target)]
            if not node.module:  # from . import loaders: the names are modules
                names = [".".join([*target, alias.name]) for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == PACKAGE and len(parts) > 1:
                found.append(".".join(parts[1:]))
            elif parts[0] in ("app", "lessons"):
                found.append(parts[0])
    return found


def violations(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """Every import of a later stage (or of the app or the lessons), as ``module → imported``."""
    bad = []
    for module, (source, is_package) in sources.items():
        at_load = set(imports_of(source, module, is_package, deferred=False))
        for imported in imports_of(source, module, is_package):
            if imported in ("app", "lessons"):
                bad.append(f"{module} → {imported} (the core imports no front outside it)")
                continue
            if (module, imported) in DEFERRED and imported not in at_load:
                continue
            stages = (stage_of(module), stage_of(imported))
            if STAGES.index(stages[1]) > STAGES.index(stages[0]) or stages in NEVER:
                bad.append(f"{module} ({stages[0]}) → {imported} ({stages[1]})")
    return bad


def core_sources() -> dict[str, tuple[str, bool]]:
    sources = {}
    for path in sorted(CORE.rglob("*.py")):
        parts = list(path.relative_to(CORE).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        if parts:
            sources[".".join(parts)] = (path.read_text(encoding="utf-8"), is_package)
    return sources


def test_no_core_module_imports_a_later_stage():
    assert violations(core_sources()) == []


def test_the_check_finds_an_import_of_a_later_stage():
    sources = {
        "figures.report": ("def f():\n    from ..training.trainer import Trainer\n", False),
        "config": ("from .methods.catalogue import LOSSES\n", False),
        "data.datasets": ("import app.runner\n", False),
        "methods.mfw": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..training import trainer\n",
                        False),
    }
    assert violations(sources) == [
        "figures.report (figures) → training.trainer (training)",
        "config (config) → methods.catalogue (methods)",
        "data.datasets → app (the core imports no front outside it)",
    ]


def test_relative_imports_resolve_to_the_package_modules():
    assert imports_of("from . import loaders\nfrom ..names import MFW\n", "data.registry") == [
        "data.loaders", "names"]
    assert imports_of("from .registry import DATASETS\n", "data", is_package=True) == ["data.registry"]


def test_the_config_and_the_declarations_load_no_torch_and_no_method_module():
    for module in ("config", "names", "data.registry", "data.loaders"):
        later = [m for m in imports_of(core_sources()[module][0], module)
                 if (module, m) not in DEFERRED and stage_of(m) not in ("declarations", "config")]
        assert later == [], module
