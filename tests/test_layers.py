"""The package's layers import downward only, read from its import graph.

Why a test: a layering rule written in a README is broken by the first convenient
import. The graph is every import statement of every module under ``asxh_pay/``
(top-level, inside functions, under ``TYPE_CHECKING``), read with :mod:`ast`, so a
function-level import cannot hide a cycle or a reach into the CLI. The rules:

* no import cycle between modules;
* the core never imports the CLI package (``asxh_pay.cli``): exit codes and output
  are the CLI's, and it imports the core, never the other way;
* a provider (``asxh_pay/providers/``) builds and parses only: it never imports the
  ledger, the client or the engine;
* reconciliation has one ``Break`` type, whichever rail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "asxh_pay"
CLI = "asxh_pay.cli"
#: The entry point ``python -m asxh_pay`` is the CLI's too.
CLI_ENTRY = frozenset({"asxh_pay.__main__"})
PROVIDERS = "asxh_pay.providers"
PROVIDER_MUST_NOT_IMPORT = ("asxh_pay.ledger", "asxh_pay.client", "asxh_pay.engine")


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@cache
def _modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(root.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lives in: the longest known prefix of the dotted name."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Import]:
    """Every import in ``path`` of a module of the package (``import``, ``from``, relative)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import sub`` imports the submodule when there is one.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        targets = {_resolve(name, modules) for name in names}
        for target in sorted(t for t in targets if t is not None and t != module):
            yield Import(module, target, node.lineno)


@cache
def graph() -> tuple[Import, ...]:
    modules = _modules()
    return tuple(imp for mod, path in modules.items() for imp in imports_of(mod, path, modules))


def cycles(edges: tuple[Import, ...]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    succ: dict[str, list[str]] = {}
    for e in edges:
        succ.setdefault(e.source, []).append(e.target)
        succ.setdefault(e.target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(succ):
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def _show(edges: list[Import]) -> str:
    return "\n".join(f"  {e.source} imports {e.target} (line {e.line})" for e in edges)


# ---------------------------------------------------------------------- the rules


def test_the_package_has_no_import_cycle() -> None:
    found = cycles(graph())
    detail = [
        f"{group}:\n" + _show([e for e in graph() if e.source in group and e.target in group])
        for group in found
    ]
    assert not found, "import cycles:\n" + "\n".join(detail)


def test_the_core_never_imports_the_cli() -> None:
    bad = [
        e
        for e in graph()
        if _within(e.target, CLI) and not _within(e.source, CLI) and e.source not in CLI_ENTRY
    ]
    assert not bad, "the core imports the CLI package:\n" + _show(bad)


def test_providers_never_import_the_ledger_the_client_or_the_engine() -> None:
    bad = [
        e
        for e in graph()
        if _within(e.source, PROVIDERS) and any(_within(e.target, p) for p in PROVIDER_MUST_NOT_IMPORT)
    ]
    assert not bad, "a provider reaches into the core:\n" + _show(bad)


def test_reconciliation_has_one_break_type_for_every_rail() -> None:
    from asxh_pay.payroll import books
    from asxh_pay.reconcile import Break

    defined = [
        name
        for name, path in _modules().items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "Break"
    ]
    assert defined == ["asxh_pay.reconcile.model"]
    assert books.Break is Break


# ---------------------------------------------------------------------- the reader itself


def _package(tmp_path: Path, files: dict[str, str]) -> tuple[Import, ...]:
    root = tmp_path / "asxh_pay"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    modules = {_rebase(p, root): p for p in sorted(root.rglob("*.py"))}
    return tuple(imp for mod, path in modules.items() for imp in imports_of(mod, path, modules))


def _rebase(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@pytest.mark.parametrize(
    "b_text",
    [
        "from asxh_pay import a\n",  # from-package import of a submodule
        "def f():\n    from asxh_pay.a import X\n",  # hidden inside a function
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import asxh_pay.a\n",
        "from . import a\n",  # relative
    ],
)
def test_the_reader_sees_every_kind_of_import(tmp_path: Path, b_text: str) -> None:
    edges = _package(tmp_path, {"__init__.py": "", "a.py": "import asxh_pay.b\nX = 1\n", "b.py": b_text})
    assert cycles(edges) == [["asxh_pay.a", "asxh_pay.b"]]


def test_the_reader_finds_a_provider_importing_the_ledger(tmp_path: Path) -> None:
    edges = _package(
        tmp_path,
        {
            "__init__.py": "",
            "ledger/__init__.py": "",
            "ledger/base.py": "class Ledger: ...\n",
            "providers/__init__.py": "",
            "providers/bank.py": "def send():\n    from ..ledger.base import Ledger\n",
        },
    )
    assert [(e.source, e.target) for e in edges] == [("asxh_pay.providers.bank", "asxh_pay.ledger.base")]
