"""Configuration errors name the key and the file; environment overrides apply; the shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from shared.settings import EndpointKind, Settings, SettingsError, load_settings
from shared.settings.secrets import secret_values

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


SECRET_KEYS = ("exchanges.kucoin.key_id", "exchanges.kucoin.key_secret", "exchanges.kucoin.key_passphrase",
               "lake.s3.access_key_id", "lake.s3.secret_access_key", "lake.s3.session_token", "server.token", "api.token")


def env_name(key: str) -> str:
    return "SPREADLAKE__" + key.upper().replace(".", "__")


def secret_at(settings: Settings, key: str) -> object:
    node: object = settings
    for part in key.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def test_every_secret_is_a_secret_string_that_repr_and_dumps_hide(tmp_path: Path) -> None:
    environ = {env_name(key): f"PLANTED-{i}-value" for i, key in enumerate(SECRET_KEYS)}
    settings = load_settings(write(tmp_path, DEMO), environ)
    for i, key in enumerate(SECRET_KEYS):
        secret = secret_at(settings, key)
        assert isinstance(secret, SecretStr) and secret.get_secret_value() == f"PLANTED-{i}-value", key
    assert "PLANTED" not in repr(settings) + str(settings) + settings.model_dump_json()
    assert sorted(secret_values(settings)) == sorted(environ.values())


@pytest.mark.parametrize("value", ["123", "yes", "0x1F", "007", "null", "~", "1e3", "[a, b]", "{a: 1}", "a: b", "# x"])
def test_an_environment_override_of_a_secret_is_taken_verbatim(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, DEMO)
    settings = load_settings(path, {env_name(key): value for key in SECRET_KEYS} | {"SPREADLAKE__COLLECTOR__BOOK_DEPTH": "25"})
    assert all(secret_at(settings, key).get_secret_value() == value for key in SECRET_KEYS)  # type: ignore[attr-defined]
    assert settings.collector.book_depth == 25  # other keys are still YAML scalars


@pytest.mark.parametrize(("text", "environ", "key"), [
    # a section-level rule fails in a section holding secrets
    (DEMO.replace("{endpoint: sim, symbols: [BTC-USDT, ETH-USDT, ETH-BTC], channels: [ticker, trade, book],\n            key_id: sim,",
                  "{endpoint: custom, symbols: [BTC-USDT], key_id: PLANTED-ID-1,"),
     {"SPREADLAKE__EXCHANGES__KUCOIN__KEY_SECRET": "PLANTED-SECRET-2"}, "exchanges.kucoin"),
    (DEMO.replace("  root: data\n", "  root: data\n  compaction: {small_file_mb: 9, target_file_mb: 1}\n  s3: {secret_access_key: PLANTED-S3-3}\n"),
     {"SPREADLAKE__LAKE__S3__SESSION_TOKEN": "PLANTED-S3-4"}, "lake"),
    # a secret of the wrong type in the file
    (DEMO.replace("port: 8765", "port: 8765\n  token: 98765432123"), {}, "server.token"),
    # a YAML syntax error on the line of a secret
    (DEMO.replace("port: 8765", 'port: 8765\n  token: "PLANTED-unclosed'), {}, "(file)"),
    # a token rule broken by an override, next to a planted token elsewhere
    (DEMO, {"SPREADLAKE__API__HOST": "0.0.0.0", "SPREADLAKE__SERVER__TOKEN": "PLANTED-server-5"}, "api.token"),
])
def test_configuration_errors_name_the_key_but_never_a_secret_value(tmp_path: Path, text: str, environ: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, text), environ)
    assert err.value.key == key, err.value
    assert "PLANTED" not in str(err.value) and "98765432123" not in str(err.value), err.value
