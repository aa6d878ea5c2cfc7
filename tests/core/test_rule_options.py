"""Every smtpprobe option a remedy names is one the command has.

A red-team round found remedies that told users to run "--oauth-token" (the option is
--oauth-token-env) and "--auth" (there is none; a profile's auth_mechanisms chooses).
Each "--name" in the rule base, the client-error signatures and the profiles must be an
option of some smtpprobe command, or another program's named here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
import yaml

from smtpprobe.cli import app

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    ROOT / "smtpprobe" / "data" / "rules.yaml",
    ROOT / "smtpprobe" / "data" / "client_errors.yaml",
    *sorted((ROOT / "profiles").glob("*.yaml")),
]
# Other programs' options that remedies quote, with whose they are.
OTHERS = {
    "--ssl-reqd",  # curl's: require TLS (a remedy for curl's own users)
}
_OPTION = re.compile(r"(?<![\w/-])--[a-z][a-z0-9-]*[a-z0-9]")
_URL = re.compile(r"https?://\S+")

# libyaml where PyYAML has it: the pure-Python loader takes seconds on the rule base.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _options() -> set[str]:
    names: set[str] = set()

    def walk(command: Any) -> None:  # typer's (vendored) click Command or Group
        for param in command.params:
            names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return names


# What users read (causes, remedies, notes), not the texts quoted from servers and programs.
_QUOTED = {"examples", "regex", "text", "reply", "source", "sources"}


def _prose(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in _QUOTED for s in _prose(v)]
    if isinstance(value, list):
        return [s for v in value for s in _prose(v)]
    return []


def test_every_option_a_data_file_names_exists() -> None:
    known = _options() | OTHERS
    unknown: dict[str, set[str]] = {}
    for path in FILES:
        for sentence in _prose(yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)):
            for name in _OPTION.findall(_URL.sub(" ", sentence)):
                if name not in known:
                    unknown.setdefault(name, set()).add(path.name)
    assert unknown == {}


def test_a_wrong_option_would_be_found() -> None:
    rule = {"remedy": {"en": "use an OAuth token (--oauth-token)"}, "examples": ["--x"]}
    assert _OPTION.findall(" ".join(_prose(rule))) == ["--oauth-token"]
    assert "--oauth-token" not in _options()
