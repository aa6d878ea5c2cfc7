"""The core does no I/O: it imports no network, filesystem, clock or YAML library."""

from __future__ import annotations

import ast
from pathlib import Path

import smtpprobe.core

FORBIDDEN = {
    "asyncio",
    "socket",
    "ssl",
    "select",
    "selectors",
    "aiosmtplib",
    "aiosmtpd",
    "dns",
    "yaml",
    "os",
    "pathlib",
    "time",
    "datetime",
    "subprocess",
    "threading",
    "io",
    "open",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
            names.add("open")
    return names


def test_core_modules_import_no_io() -> None:
    core = Path(smtpprobe.core.__file__).parent
    offenders = {
        p.name: sorted(_imports(p) & FORBIDDEN)
        for p in core.glob("*.py")
        if _imports(p) & FORBIDDEN
    }
    assert offenders == {}
