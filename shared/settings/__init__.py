"""Validated settings: one object per process, built from a YAML file and the environment."""

from shared.settings.errors import SettingsError
from shared.settings.loader import load_settings, settings_from_mapping
from shared.settings.market import EndpointKind, ExchangeSettings
from shared.settings.root import Settings

__all__ = ["EndpointKind", "ExchangeSettings", "Settings", "SettingsError", "load_settings", "settings_from_mapping"]
