"""YAML file + environment overrides -> validated Settings, with errors that name the key and the file.

Environment overrides use `SPREADLAKE__<SECTION>__<KEY>=value` (double underscores separate levels,
values are parsed as YAML scalars), e.g. `SPREADLAKE__COLLECTOR__BOOK_DEPTH=20`; a secret key's value
is taken verbatim (a token `0x1F` or `yes` stays that string). The entry point passes the environment
in; this module never reads it itself. No error message carries a secret's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shared.settings.errors import SettingsError
from shared.settings.root import Settings, _KeyedError
from shared.settings.secrets import is_secret_key

ENV_PREFIX = "SPREADLAKE__"


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    source = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise SettingsError(source, "(file)", f"cannot read: {exc.strerror or exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError(source, "(file)", f"not valid YAML: {_yaml_problem(exc)}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SettingsError(source, "(file)", "the top level must be a mapping of sections")
    overridden = apply_env_overrides(raw, environ or {})
    if overridden:
        source = f"{source} (with environment overrides {', '.join(overridden)})"
    return settings_from_mapping(raw, source)


def settings_from_mapping(raw: dict[str, Any], source: str = "<settings>") -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise _first_error(exc, source) from None


def apply_env_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    applied = []
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split("__") if part]
        if not path:
            continue
        node = raw
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = value if value == "" or is_secret_key(Settings, path) else yaml.safe_load(value)
        applied.append(name)
    return applied


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """The problem and its position, without the quoted source lines (they may hold a secret)."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return type(exc).__name__
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{exc.problem or exc.context or 'syntax error'}{where}"


def _first_error(exc: ValidationError, source: str) -> SettingsError:
    error = exc.errors()[0]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _KeyedError):
        return SettingsError(source, cause.key, cause.problem)
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        problem = "unknown key"
    elif kind == "missing":
        problem = "required key is missing"
    else:
        problem = error["msg"].removeprefix("Value error, ")
        shown = error.get("input")
        if is_secret_key(Settings, error["loc"]):
            if shown is not None:
                hint = "; quote it in YAML" if kind == "string_type" else ""
                problem += f" (a secret: its value is not shown{hint})"
        elif shown is None or isinstance(shown, str | int | float | bool):
            # Only scalars: a section's whole mapping (a model-level error) may hold secrets.
            problem += f" (got {shown!r})"
    more = len(exc.errors()) - 1
    if more:
        problem += f" (and {more} more problem{'s' if more > 1 else ''})"
    return SettingsError(source, key, problem)
