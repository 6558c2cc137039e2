"""Configuration errors name the key and the file; environment overrides apply; the shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings import EndpointKind, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "config" / "demo.yaml").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return path


def test_demo_config_loads_with_four_simulated_venues() -> None:
    settings = load_settings(ROOT / "config" / "demo.yaml")
    assert set(settings.exchanges) == {"binance", "bybit", "gateio", "kucoin"}
    assert all(e.endpoint is EndpointKind.SIM for e in settings.exchanges.values())
    for exchange in settings.exchanges.values():
        assert {"BTC-USDT", "ETH-USDT", "ETH-BTC"} <= set(exchange.symbols)


def test_live_example_config_points_at_real_exchanges() -> None:
    settings = load_settings(ROOT / "config" / "live.yaml")
    assert settings.exchanges
    assert all(e.endpoint is EndpointKind.LIVE for e in settings.exchanges.values())


def test_unknown_key_is_named_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO.replace("book_depth: 10", "book_depht: 10"))
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.key == "collector.book_depht"
    assert "unknown key" in str(err.value)
    assert str(path) in str(err.value)


def test_wrong_type_is_named_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO.replace("book_depth: 10", "book_depth: ten"))
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.key == "collector.book_depth"
    assert "'ten'" in str(err.value) and str(path) in str(err.value)


def test_out_of_range_value_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO.replace("book_depth: 10", "book_depth: 0"))
    with pytest.raises(SettingsError, match=r"collector\.book_depth"):
        load_settings(path)


def test_unknown_channel_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO.replace("channels: [ticker, trade, book]}", "channels: [ticker, candles]}", 1))
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.key.startswith("exchanges.binance.channels")


def test_simulated_exchange_without_a_venue_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO.replace("    kucoin:  {rest_port: 18131, ws_port: 18132, lag_ms: 90, noise_bps: 1.2}\n", ""))
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.key == "exchanges.kucoin.endpoint"
    assert "sim.venues" in err.value.problem


def test_unknown_symbol_on_a_simulated_venue_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO.replace("gateio:  {endpoint: sim, symbols: [BTC-USDT, ETH-USDT, ETH-BTC]",
                                        "gateio:  {endpoint: sim, symbols: [BTC-USDT, DOGE-USDT]"))
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.key == "exchanges.gateio.symbols.1"
    assert "DOGE-USDT" in err.value.problem


def test_malformed_symbol_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO.replace("symbols: [BTC-USDT, ETH-USDT, ETH-BTC], channels: [ticker, trade, book]}",
                                        "symbols: [btcusdt], channels: [ticker, trade, book]}", 1))
    with pytest.raises(SettingsError, match="BASE-QUOTE"):
        load_settings(path)


def test_environment_overrides_a_nested_key_and_is_named_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO)
    settings = load_settings(path, {"SPREADLAKE__COLLECTOR__BOOK_DEPTH": "25", "SPREADLAKE__SIM__RATE": "500", "HOME": "/x"})
    assert settings.collector.book_depth == 25
    assert settings.sim.rate == 500
    with pytest.raises(SettingsError) as err:
        load_settings(path, {"SPREADLAKE__COLLECTOR__BOOK_DEPTH": "deep"})
    assert "SPREADLAKE__COLLECTOR__BOOK_DEPTH" in str(err.value)


def test_unreadable_and_non_yaml_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(write(tmp_path, "exchanges: [unclosed"))


def test_custom_endpoint_requires_urls(tmp_path: Path) -> None:
    text = "exchanges:\n  binance: {endpoint: custom, symbols: [BTC-USDT]}\n"
    with pytest.raises(SettingsError, match="rest_url and ws_url"):
        load_settings(write(tmp_path, text))


def test_unknown_exchange_is_named(tmp_path: Path) -> None:
    text = "exchanges:\n  binanse: {endpoint: live, symbols: [BTC-USDT]}\n"
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, text))
    assert err.value.key == "exchanges.binanse"
    assert "unknown exchange 'binanse'" in err.value.problem
