"""The one error type for bad configuration: it names the key and the file."""

from __future__ import annotations


class SettingsError(ValueError):
    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: {key}: {problem}")
