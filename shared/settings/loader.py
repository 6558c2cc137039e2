"""YAML file + environment overrides -> validated Settings, with errors that name the key and the file.

Environment overrides use `SPREADLAKE__<SECTION>__<KEY>=value` (double underscores separate levels,
values are parsed as YAML scalars), e.g. `SPREADLAKE__COLLECTOR__BOOK_DEPTH=20`. The entry point
passes the environment in; this module never reads it itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shared.settings.errors import SettingsError
from shared.settings.root import Settings, _KeyedError

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
        raise SettingsError(source, "(file)", f"not valid YAML: {exc}") from None
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
        node[path[-1]] = yaml.safe_load(value) if value != "" else ""
        applied.append(name)
    return applied


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
        message = error["msg"].removeprefix("Value error, ")
        problem = f"{message} (got {error.get('input')!r})"
    more = len(exc.errors()) - 1
    if more:
        problem += f" (and {more} more problem{'s' if more > 1 else ''})"
    return SettingsError(source, key, problem)
