"""Load the settings file named on the command line, turning errors into a clear message and exit code 2."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from shared.settings import Settings, SettingsError, load_settings

DEFAULT_CONFIG = Path("config/demo.yaml")
ConfigOption = typer.Option(DEFAULT_CONFIG, "--config", "-c", help="YAML settings file (see docs/configuration.md).",
                            envvar="SPREADLAKE_CONFIG")


def load_or_exit(path: Path) -> Settings:
    try:
        return load_settings(path, os.environ)
    except SettingsError as exc:
        print(f"spreadlake: configuration error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
