"""Dependencies point one way: shared imports nothing of ours; services never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"shared", "collector", "analyzer", "trader", "flows", "sim", "spreadlake"}
ALLOWED = {
    "shared": set(),
    "collector": {"shared"},
    "analyzer": {"shared"},
    "trader": {"shared"},
    "sim": {"shared"},
    "flows": {"shared", "analyzer"},
    "spreadlake": OURS - {"spreadlake"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_packages(path) - ALLOWED[package] - {package}
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_no_module_reads_the_environment_except_the_cli() -> None:
    offenders = []
    for package in OURS - {"spreadlake"}:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text()
            if "os.environ" in text or "os.getenv" in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"settings flow in from the entry point; these read the environment: {offenders}"
