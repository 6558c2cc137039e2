"""Settings for end-to-end runs: the demo market on free loopback ports, with a private TLS dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]
VENUES = ("binance", "bybit", "gateio", "kucoin")


def market_config(tmp_path: Path, rate: float = 200.0, faults: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    """The demo config with fresh ports, a faster market and optional faults, the trader's files under tmp_path;
    extra sections merge in."""
    config = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    ports = iter(free_ports(2 * len(VENUES) + 3))
    for venue in config["sim"]["venues"].values():
        venue["rest_port"], venue["ws_port"] = next(ports), next(ports)
    config["sim"]["rate"] = rate
    config["sim"]["tls_dir"] = str(tmp_path / "tls")
    config["sim"]["faults"] = faults or {}
    config["server"]["port"] = next(ports)
    config["api"]["port"] = next(ports)
    config["lake"]["root"] = str(tmp_path / "lake")
    config["trader"]["api"]["port"] = next(ports)
    config["trader"]["journal_path"] = str(tmp_path / "trader" / "journal.sqlite")
    config["trader"]["paper_store_path"] = str(tmp_path / "trader" / "paper.sqlite")
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    return config


def write_config(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "spreadlake.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
