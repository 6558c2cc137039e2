"""Which settings keys hold secrets (pydantic `SecretStr`), found from the models' own type hints.

The loader uses it to take environment overrides of secret keys verbatim and to keep their values
out of error messages; the entry points use `secret_values` to mask them in log output.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr


def is_secret_key(model: type[BaseModel], path: Sequence[str | int]) -> bool:
    """Whether the key at `path` (as written in the YAML file, e.g. exchanges.kucoin.key_secret) is a secret."""
    annotation: Any = model
    for part in path:
        annotation = _without_none(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return False
            annotation = field.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return False
    return _without_none(annotation) is SecretStr


def secret_values(settings: BaseModel) -> list[str]:
    """Every non-empty secret value held anywhere in `settings`."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            if value.get_secret_value():
                found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(settings)
    return found


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation
