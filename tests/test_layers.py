"""The layer rules of DESIGN.md, checked on the source: dependencies point inward, pure cores do no I/O.

An AST walk over every import (top level and inside functions) stands in for import-linter:
it needs no extra tool and also catches imports hidden in function bodies.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "perpcli"

IO_MODULES = {"asyncio", "socket", "http", "urllib", "websockets", "ssl", "selectors", "subprocess", "threading"}
UI_MODULES = {"rich", "textual", "typer"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            # `from perpcli.venues import hyperliquid` imports the package too
            names.update(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return names


def files(pattern: str) -> list[Path]:
    return sorted(p for p in PKG.glob(pattern) if p.name != "__init__.py" or p.read_text().strip())


def top(name: str) -> str:
    return name.split(".")[0]


def violations(paths, forbidden_top=(), forbidden_prefixes=()):
    bad = []
    for p in paths:
        for name in imports_of(p):
            if top(name) in forbidden_top or any(name == f or name.startswith(f + ".") for f in forbidden_prefixes):
                bad.append(f"{p.relative_to(PKG.parent)} imports {name}")
    return bad


OUTER = ("perpcli.cli", "perpcli.app", "perpcli.tui", "perpcli.net", "perpcli.devnet", "perpcli.venues")


def test_domain_is_pure_and_innermost():
    assert not violations(files("domain/**/*.py"), IO_MODULES | UI_MODULES,
                          OUTER + ("perpcli.ledger", "perpcli.keys", "perpcli.config"))


def test_ledger_is_pure():
    assert not violations(files("ledger/**/*.py"), IO_MODULES | UI_MODULES, OUTER)


@pytest.mark.parametrize("name", ["codec*.py", "signing.py", "numbers.py", "actions.py", "verify.py", "wire.py"])
def test_venue_codecs_and_signing_are_pure(name):
    assert not violations(files(f"venues/*/{name}"), IO_MODULES | UI_MODULES, ("perpcli.cli", "perpcli.tui"))


def test_devnet_engine_is_pure():
    engine = [p for p in files("devnet/*.py") if p.stem in ("engine", "matching", "markets", "market", "accounts")]
    assert not violations(engine, IO_MODULES | UI_MODULES, ("perpcli.cli", "perpcli.tui", "perpcli.app"))


def test_only_the_tui_imports_textual():
    outside = [p for p in files("**/*.py") if "tui" not in p.relative_to(PKG).parts]
    assert not violations(outside, {"textual"})


def test_nothing_imports_the_official_sdk():
    assert not violations(files("**/*.py"), {"hyperliquid"})


@pytest.mark.parametrize("layer", ["domain", "ledger", "keys", "config", "net", "venues", "devnet"])
def test_inner_layers_never_import_the_outer_ones(layer):
    assert not violations(files(f"{layer}/**/*.py"), (), ("perpcli.cli", "perpcli.app", "perpcli.tui"))


def test_app_layer_has_no_ui():
    assert not violations(files("app/**/*.py"), {"rich", "textual", "typer"}, ("perpcli.cli", "perpcli.tui"))


def test_the_repo_stands_on_its_own():
    """A user's clone has only the repository: nothing in the package, tests, benchmarks or test
    data may read from a folder beside it (vectors live in tests/vectors/)."""
    root = PKG.parent
    # The research folder that sits beside the repo in the workplace, spelt in parts so this
    # test does not name the path it forbids.
    folder_name = "sha" + "red"
    needles = ("/".join(("..", folder_name)), folder_name + "/vectors", folder_name + "/protocols", "parents[2]")
    offenders = []
    for folder in ("perpcli", "tests", "bench"):
        for p in (root / folder).rglob("*"):
            if not p.is_file() or p.suffix not in (".py", ".json", ".md", ".toml", ".mjs") or p.resolve() == Path(__file__).resolve():
                continue
            text = p.read_text(errors="replace")
            if any(n in text for n in needles):
                offenders.append(str(p.relative_to(root)))
    assert not offenders, offenders


VENUE_PACKAGES = sorted(p.name for p in (PKG / "venues").iterdir() if p.is_dir() and (p / "__init__.py").exists())


def test_there_is_a_venue_package_to_guard():
    assert "hyperliquid" in VENUE_PACKAGES


@pytest.mark.parametrize("venue", VENUE_PACKAGES)
def test_a_venue_package_is_imported_only_by_itself_the_registry_and_the_devnet(venue):
    """The seam holds: app/, cli/, tui/, ledger/, domain/, net/, keys/ and config/ reach a
    venue only through venues/base.py and the registry (which names adapters as strings).
    Only the venue's own package and the devnet (a face of the venue) import it."""
    allowed = (PKG / "venues" / venue, PKG / "devnet")
    outside = [p for p in files("**/*.py") if not any(p.is_relative_to(a) for a in allowed)]
    assert not violations(outside, (), (f"perpcli.venues.{venue}",))


@pytest.mark.parametrize("venue", VENUE_PACKAGES)
def test_adapters_never_import_each_other(venue):
    others = tuple(f"perpcli.venues.{v}" for v in VENUE_PACKAGES if v != venue)
    assert not violations(files(f"venues/{venue}/**/*.py"), (), others)
