"""The `trader` settings section: every error names its key, environment overrides reach it, the shipped configs load."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from shared.settings import Settings, SettingsError, load_settings, settings_from_mapping
from shared.settings.secrets import secret_values
from shared.settings.trader import DEFAULT_FEE_BPS, TraderMode
from shared.trading import Side, StrategyKind

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "config" / "demo.yaml").read_text()
DEMO: dict[str, Any] = yaml.safe_load(DEMO_TEXT)
VENUES = "binance, bybit, gateio, kucoin"


def demo() -> dict[str, Any]:
    return copy.deepcopy(DEMO)


def trader(**changes: Any) -> dict[str, Any]:
    raw = demo()
    raw["trader"].update(changes)
    return raw


def instance(**fields: Any) -> dict[str, Any]:
    base = {"id": "x", "kind": "cross_exchange", "venues": ["binance", "bybit"], "symbols": ["BTC-USDT"],
            "size": 0.01, "min_profit_bps": 3}
    return base | fields


def with_instances(*instances: dict[str, Any]) -> dict[str, Any]:
    return trader(instances=list(instances))


def error(raw: dict[str, Any]) -> SettingsError:
    with pytest.raises(SettingsError) as err:
        settings_from_mapping(raw, "test.yaml")
    return err.value


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return path


# the shipped configs --------------------------------------------------------------------------------------


def test_demo_trader_section_is_paper_with_balances_on_every_venue_and_one_instance_of_each_kind() -> None:
    settings = load_settings(ROOT / "config" / "demo.yaml")
    section = settings.trader
    assert section.mode is TraderMode.PAPER
    assert set(section.paper.balances) == set(settings.exchanges) == {"binance", "bybit", "gateio", "kucoin"}
    kinds = {i.kind: i for i in section.instances}
    assert set(kinds) == {StrategyKind.CROSS_EXCHANGE, StrategyKind.TRIANGULAR, StrategyKind.LIMIT_HEDGE}
    cross = kinds[StrategyKind.CROSS_EXCHANGE]
    assert len(cross.venues) == 2 and cross.symbols == ("BTC-USDT",)
    assert len(kinds[StrategyKind.TRIANGULAR].venues) == 1
    assert all(i.enabled for i in section.instances)
    assert section.journal_path.startswith("data/") and section.paper_store_path.startswith("data/")


def test_demo_instances_can_clear_their_thresholds_on_a_simulated_dislocation() -> None:
    """A dislocation (sim.dislocation.size_bps) must be able to pay every fee on an instance's path plus its
    threshold, or the demo would never trade."""
    settings = load_settings(ROOT / "config" / "demo.yaml")
    jump = Decimal(repr(settings.sim.dislocation.size_bps))

    def taker(venue: str) -> Decimal:
        spec = settings.trader.venues.get(venue)
        return spec.taker_fee_bps if spec else DEFAULT_FEE_BPS

    for item in settings.trader.instances:
        if item.kind is StrategyKind.CROSS_EXCHANGE:
            fees = taker(item.venues[0]) + taker(item.venues[1])
        elif item.kind is StrategyKind.TRIANGULAR:
            fees = 3 * taker(item.venues[0])
        else:
            fees = settings.trader.venues[item.venues[0]].maker_fee_bps + taker(item.venues[1])
        assert fees + item.min_profit_bps < jump, item.id


def test_live_example_trades_on_paper_with_explicit_venue_rules() -> None:
    settings = load_settings(ROOT / "config" / "live.yaml")
    assert settings.trader.mode is TraderMode.PAPER
    spec = settings.trader.venues["binance"].symbols["BTC-USDT"]
    assert (spec.tick, spec.lot, spec.min_notional) == (Decimal("0.01"), Decimal("0.00001"), Decimal(5))


def test_a_config_without_a_trader_section_gets_the_defaults() -> None:
    raw = demo()
    del raw["trader"]
    section = settings_from_mapping(raw).trader
    assert section.mode is TraderMode.PAPER and section.instances == () and section.paper.balances == {}
    assert section.shutdown_grace_s == 30.0
    assert (section.api.host, section.api.port, section.api.token) == ("127.0.0.1", 8790, None)
    assert section.journal_path == "data/trader/journal.sqlite"
    assert section.paper_store_path == "data/trader/paper.sqlite"


# section errors -------------------------------------------------------------------------------------------


def test_live_mode_is_refused_until_live_execution_exists() -> None:
    err = error(trader(mode="live"))
    assert err.key == "trader.mode"
    assert "later issue" in err.problem and "paper" in err.problem


@pytest.mark.parametrize(("changes", "key", "words"), [
    ({"mode": "sandbox"}, "trader.mode", "'paper' or 'live'"),
    ({"colour": "red"}, "trader.colour", "unknown key"),
    ({"stream": {"url": "http://127.0.0.1:8765/"}}, "trader.stream.url", "ws://"),
    ({"shutdown_grace_s": -1}, "trader.shutdown_grace_s", "greater than or equal to 0"),
    ({"journal_path": ""}, "trader.journal_path", "at least 1 character"),
    ({"paper_store_path": "data/trader/journal.sqlite"}, "trader.paper_store_path", "must differ from journal_path"),
    ({"paper": {"latency_ms": -5}}, "trader.paper.latency_ms", "greater than or equal to 0"),
    ({"paper": {"balances": {"binance": {"USDT": -1}}}}, "trader.paper.balances.binance.USDT", "greater than or equal to 0"),
    ({"paper": {"balances": {"binance": {"US DT": 1}}}}, "trader.paper.balances", "'US DT' is not an upper-case asset name"),
    ({"paper": {"balances": {"binance": {"USDT": "lots"}}}}, "trader.paper.balances.binance.USDT", "decimal"),
    ({"paper": {"balances": {"binance": {"USDT": float("nan")}}}}, "trader.paper.balances.binance.USDT", "finite"),
    ({"venues": {"binance": {"taker_fee_bps": -1}}}, "trader.venues.binance.taker_fee_bps", "greater than or equal to 0"),
    ({"venues": {"binance": {"maker_fee_bps": 10_000}}}, "trader.venues.binance.maker_fee_bps", "less than 10000"),
    ({"venues": {"binance": {"symbols": {"BTC-USDT": {"tick": 0}}}}}, "trader.venues.binance.symbols.BTC-USDT.tick", "greater than 0"),
    ({"venues": {"binance": {"symbols": {"BTC-USDT": {"lot": -0.1}}}}}, "trader.venues.binance.symbols.BTC-USDT.lot", "greater than 0"),
    ({"venues": {"binance": {"symbols": {"BTC-USDT": {"min_size": -1}}}}}, "trader.venues.binance.symbols.BTC-USDT.min_size", "greater"),
    ({"venues": {"binance": {"symbols": {"BTC-USDT": {"min_notional": -1}}}}}, "trader.venues.binance.symbols.BTC-USDT.min_notional", "greater"),
    ({"venues": {"binance": {"symbols": {"BTC-USDT-PERP": {}}}}}, "trader.venues.binance.symbols", "spot only"),
    ({"venues": {"binance": {"symbols": {"btc/usdt": {}}}}}, "trader.venues.binance.symbols", "BASE-QUOTE"),
    ({"risk": {"limits": {"max_trade_notional": 0}}}, "trader.risk.limits.max_trade_notional", "greater than 0"),
    ({"risk": {"limits": {"max_position": {"BTC": -1}}}}, "trader.risk.limits.max_position.BTC", "greater than or equal to 0"),
    ({"risk": {"limits": {"max_open_orders": 0}}}, "trader.risk.limits.max_open_orders", "greater than or equal to 1"),
    ({"risk": {"limits": {"max_daily_loss": -5}}}, "trader.risk.limits.max_daily_loss", "greater than or equal to 0"),
    ({"risk": {"limits": {"valuation_asset": "usd t"}}}, "trader.risk.limits.valuation_asset", "pattern"),
    ({"risk": {"volatility": {"scale_from_bps": 50, "pause_bps": 50}}}, "trader.risk.volatility.pause_bps", "above scale_from_bps"),
    ({"risk": {"volatility": {"min_scale": 1.5}}}, "trader.risk.volatility.min_scale", "less than or equal to 1"),
    ({"risk": {"volatility": {"min_scale": 0}}}, "trader.risk.volatility.min_scale", "greater than 0"),
    ({"risk": {"breaker": {"failures": 0}}}, "trader.risk.breaker.failures", "greater than or equal to 1"),
    ({"risk": {"breaker": {"window_s": 0}}}, "trader.risk.breaker.window_s", "greater than 0"),
    ({"risk": {"breaker": {"cooldown_s": -1}}}, "trader.risk.breaker.cooldown_s", "greater than 0"),
    ({"risk": {"safe_mode": {"auto_exit": "sometimes"}}}, "trader.risk.safe_mode.auto_exit", "boolean"),
    ({"risk": {"safe_mode": {"errors": 0}}}, "trader.risk.safe_mode.errors", "greater than or equal to 1"),
    ({"risk": {"safe_mode": {"stale_after_s": 0}}}, "trader.risk.safe_mode.stale_after_s", "greater than 0"),
    ({"market_view": {"max_book_age_ms": 0}}, "trader.market_view.max_book_age_ms", "greater than 0"),
    ({"market_view": {"volatility_window_s": 1, "volatility_sample_ms": 1000}}, "trader.market_view.volatility_sample_ms",
     "shorter than volatility_window_s"),
    ({"api": {"port": 70000}}, "trader.api.port", "less than or equal to 65535"),
])
def test_a_bad_value_is_named_by_its_key(changes: dict[str, Any], key: str, words: str) -> None:
    err = error(trader(**changes))
    assert err.key == key, err
    assert words in err.problem, err
    assert "test.yaml" in str(err)


def test_an_exposed_api_needs_a_token_under_the_rule_of_the_other_servers() -> None:
    err = error(trader(api={"host": "0.0.0.0"}))
    assert err.key == "trader.api.token"
    assert err.problem == "trader.api.host '0.0.0.0' is not loopback: a token is required so clients must authenticate"
    assert settings_from_mapping(trader(api={"host": "0.0.0.0", "token": "s3cret-token"})).trader.api.token_value() == "s3cret-token"
    assert settings_from_mapping(trader(api={"host": "0.0.0.0", "enabled": False})).trader.api.token is None
    assert settings_from_mapping(trader(api={"host": "localhost"})).trader.api.token is None
    assert error(trader(api={"host": "192.168.1.5", "token": ""})).key == "trader.api.token"  # empty counts as none


# errors against the other sections --------------------------------------------------------------------------


def test_a_venue_spec_for_a_venue_not_collected_is_named() -> None:
    raw = demo()
    raw["trader"]["venues"]["okx"] = {"taker_fee_bps": 8}
    err = error(raw)
    assert err.key == "trader.venues.okx"
    assert err.problem == f"unknown venue 'okx' (exchanges lists: {VENUES})"


def test_a_venue_spec_for_a_symbol_not_collected_is_named() -> None:
    raw = demo()
    raw["trader"]["venues"]["binance"]["symbols"]["SOL-USDT"] = {"tick": 0.01, "lot": 0.01}
    err = error(raw)
    assert err.key == "trader.venues.binance.symbols.SOL-USDT"
    assert err.problem == "symbol 'SOL-USDT' is not collected on 'binance' (exchanges.binance.symbols lists: BTC-USDT, ETH-USDT, ETH-BTC)"


def test_balances_on_a_venue_not_collected_are_named() -> None:
    raw = demo()
    raw["trader"]["paper"]["balances"]["okx"] = {"USDT": 100}
    err = error(raw)
    assert (err.key, err.problem) == ("trader.paper.balances.okx", f"unknown venue 'okx' (exchanges lists: {VENUES})")


def live_binance(**trader_section: Any) -> dict[str, Any]:
    return {"exchanges": {"binance": {"endpoint": "live", "symbols": ["BTC-USDT", "ETH-USDT"]}}, "trader": trader_section}


def test_a_live_venue_has_no_default_tick_or_lot() -> None:
    err = error(live_binance(venues={"binance": {"symbols": {"BTC-USDT": {"tick": 0.01}}}}))
    assert err.key == "trader.venues.binance.symbols.BTC-USDT.lot"
    assert err.problem == "required: 'binance' is not simulated, so there is no default"
    err = error(live_binance(instances=[instance(venues=["binance"], kind="triangular", symbols=["BTC-USDT", "ETH-USDT", "ETH-BTC"])]))
    assert err.key == "trader.instances.0.symbols"  # ETH-BTC is not collected
    err = error(live_binance(instances=[{"id": "lh", "kind": "cross_exchange", "venues": ["binance", "binance2"],
                                         "symbols": ["BTC-USDT"], "size": 1, "min_profit_bps": 1}]))
    assert err.key == "trader.instances.0.venues"


def test_an_instance_on_a_live_venue_without_its_rules_is_named() -> None:
    raw = live_binance(instances=[instance(venues=["binance", "bybit"])])
    raw["exchanges"]["bybit"] = {"endpoint": "live", "symbols": ["BTC-USDT"]}
    raw["trader"]["venues"] = {"binance": {"symbols": {"BTC-USDT": {"tick": 0.01, "lot": 0.00001}}}}
    err = error(raw)
    assert err.key == "trader.instances.0.symbols"
    assert err.problem == ("no tick and lot for BTC-USDT on 'bybit': set trader.venues.bybit.symbols.BTC-USDT "
                           "(only simulated venues have defaults)")
    raw["trader"]["venues"]["bybit"] = {"symbols": {"BTC-USDT": {"tick": 0.1, "lot": 0.0001}}}
    assert settings_from_mapping(raw).trader.instances[0].venues == ("binance", "bybit")


# instance errors --------------------------------------------------------------------------------------------


def test_an_instance_on_an_unknown_venue_is_named_with_the_venues_listed() -> None:
    err = error(with_instances(instance(), instance(id="y", venues=["binance", "okx"])))
    assert err.key == "trader.instances.1.venues"
    assert err.problem == f"unknown venue 'okx' (exchanges lists: {VENUES})"


def test_an_instance_on_a_symbol_not_collected_is_named() -> None:
    raw = with_instances(instance())
    raw["exchanges"]["bybit"]["symbols"] = ["ETH-USDT", "ETH-BTC"]
    err = error(raw)
    assert err.key == "trader.instances.0.symbols"
    assert err.problem == "symbol 'BTC-USDT' is not collected on 'bybit' (exchanges.bybit.symbols lists: ETH-USDT, ETH-BTC)"


def test_an_instance_on_a_venue_without_books_is_named() -> None:
    raw = with_instances(instance())
    raw["exchanges"]["bybit"]["channels"] = ["ticker", "trade"]
    err = error(raw)
    assert err.key == "trader.instances.0.venues"
    assert err.problem == "venue 'bybit' does not collect the book channel (exchanges.bybit.channels)"


def test_a_triangle_that_does_not_close_a_cycle_is_named() -> None:
    raw = with_instances(instance(), instance(id="t", kind="triangular", venues=["binance"], symbols=["BTC-USDT", "ETH-USDT", "SOL-USDT"]))
    err = error(raw)
    assert err.key == "trader.instances.1.symbols"
    assert "BTC-USDT, ETH-USDT, SOL-USDT do not close a cycle" in err.problem


def test_an_instance_size_under_a_venues_smallest_order_is_named() -> None:
    err = error(with_instances(instance(size=0.000005)))
    assert (err.key, err.problem) == ("trader.instances.0.size", "0.000005 BTC is under the smallest order on 'binance' (0.00001: lot or min_size)")
    raw = with_instances(instance(kind="limit_hedge", venues=["bybit", "binance"], size=0.001))
    raw["trader"]["venues"]["binance"]["symbols"]["BTC-USDT"]["min_size"] = 0.002
    err = error(raw)
    assert (err.key, err.problem) == ("trader.instances.0.size", "0.001 BTC is under the smallest order on 'binance' (0.002: lot or min_size)")


def test_two_instances_with_one_id_are_named_at_the_second() -> None:
    err = error(with_instances(instance(), instance(id="y"), instance(venues=["gateio", "kucoin"])))
    assert (err.key, err.problem) == ("trader.instances.2.id", "'x' is also the id of trader.instances.0")


@pytest.mark.parametrize(("fields", "key", "words"), [
    ({"kind": "market_making"}, "kind", "'cross_exchange', 'triangular' or 'limit_hedge'"),
    ({"id": "has space"}, "id", "pattern"),
    ({"id": ""}, "id", "pattern"),
    ({"size": 0}, "size", "greater than 0"),
    ({"size": "much"}, "size", "decimal"),
    ({"min_profit_bps": -1}, "min_profit_bps", "greater than or equal to 0"),
    ({"enabled": "maybe"}, "enabled", "boolean"),
    ({"venues": ["binance"]}, "venues", "cross_exchange needs two or more venues"),
    ({"venues": ["binance", "binance"]}, "venues", "a venue is listed twice"),
    ({"symbols": ["BTC-USDT", "ETH-USDT"]}, "symbols", "cross_exchange trades one symbol"),
    ({"symbols": ["BTC-USDT-PERP"]}, "symbols", "spot only"),
    ({"symbols": ["BTCUSDT"]}, "symbols", "BASE-QUOTE"),
    ({"start_asset": "USDT"}, "start_asset", "only read with kind: triangular"),
    ({"sides": ["buy"]}, "sides", "only read with kind: limit_hedge"),
    ({"reprice_bps": 2}, "reprice_bps", "only read with kind: limit_hedge"),
    ({"kind": "triangular", "venues": ["binance", "bybit"], "symbols": ["BTC-USDT", "ETH-USDT", "ETH-BTC"]}, "venues",
     "triangular trades on one venue"),
    ({"kind": "triangular", "venues": ["binance"], "symbols": ["BTC-USDT", "ETH-USDT"]}, "symbols", "do not close a cycle"),
    ({"kind": "triangular", "venues": ["binance"], "symbols": ["BTC-USDT", "ETH-USDT", "ETH-USDT"]}, "symbols", "listed twice"),
    ({"kind": "triangular", "venues": ["binance"], "symbols": ["BTC-USDT", "ETH-USDT", "ETH-BTC"], "start_asset": "SOL"},
     "start_asset", "'SOL' is not one of the cycle's assets (BTC, ETH, USDT)"),
    ({"kind": "triangular", "venues": ["binance"], "symbols": ["BTC-USDT", "ETH-BTC", "USDT-ETH"]}, "start_asset",
     "required: no asset is the quote of two of BTC-USDT, ETH-BTC, USDT-ETH"),
    ({"kind": "limit_hedge", "venues": ["binance", "bybit", "gateio"]}, "venues", "limit_hedge needs two venues"),
    ({"kind": "limit_hedge", "sides": []}, "sides", "list buy, sell or both, once each"),
    ({"kind": "limit_hedge", "sides": ["buy", "buy"]}, "sides", "list buy, sell or both, once each"),
    ({"kind": "limit_hedge", "sides": ["hold"]}, "sides.0", "'buy' or 'sell'"),
    ({"kind": "limit_hedge", "reprice_bps": 0}, "reprice_bps", "greater than 0"),
])
def test_a_bad_instance_field_is_named_by_index_and_key(fields: dict[str, Any], key: str, words: str) -> None:
    err = error(with_instances(instance(id="a"), instance(**fields)))
    assert err.key == f"trader.instances.1.{key}", err
    assert words in err.problem, err


def test_a_missing_instance_field_is_named() -> None:
    fields = instance()
    del fields["min_profit_bps"]
    err = error(with_instances(fields))
    assert (err.key, err.problem) == ("trader.instances.0.min_profit_bps", "required key is missing")


def test_triangular_start_asset_defaults_to_the_quote_of_two_symbols() -> None:
    raw = with_instances(instance(kind="triangular", venues=["binance"], symbols=["ETH-BTC", "BTC-USDT", "ETH-USDT"]))
    item = settings_from_mapping(raw).trader.instances[0]
    assert item.start_asset is None and item.cycle_start() == "USDT"


def test_limit_hedge_sides_parse_to_the_side_enum() -> None:
    raw = with_instances(instance(kind="limit_hedge", sides=["sell"]))
    assert settings_from_mapping(raw).trader.instances[0].sides == (Side.SELL,)


# environment overrides --------------------------------------------------------------------------------------


def test_environment_overrides_reach_nested_trader_keys(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, DEMO_TEXT), {
        "SPREADLAKE__TRADER__RISK__LIMITS__MAX_TRADE_NOTIONAL": "500",
        "SPREADLAKE__TRADER__RISK__SAFE_MODE__AUTO_EXIT": "false",
        "SPREADLAKE__TRADER__SHUTDOWN_GRACE_S": "10",
        "SPREADLAKE__TRADER__MARKET_VIEW__MAX_BOOK_AGE_MS": "750",
        "SPREADLAKE__TRADER__VENUES__GATEIO__TAKER_FEE_BPS": "20",
        "SPREADLAKE__TRADER__STREAM__URL": "ws://10.0.0.5:8765/",
        "SPREADLAKE__TRADER__STREAM__TOKEN": "0x1F",
    })
    section = settings.trader
    assert section.risk.limits.max_trade_notional == Decimal(500)
    assert section.risk.safe_mode.auto_exit is False
    assert section.shutdown_grace_s == 10.0
    assert section.market_view.max_book_age_ms == 750.0
    assert section.venues["gateio"].taker_fee_bps == Decimal(20)
    assert section.stream.url == "ws://10.0.0.5:8765/"
    assert section.stream.token is not None and section.stream.token.get_secret_value() == "0x1F"  # a secret: verbatim


def test_an_environment_override_of_a_balance_names_its_asset_in_any_case(tmp_path: Path) -> None:
    """Environment keys arrive lower case; asset names are upper-cased and the override wins."""
    settings = load_settings(write(tmp_path, DEMO_TEXT), {"SPREADLAKE__TRADER__PAPER__BALANCES__BINANCE__USDT": "5000",
                                                          "SPREADLAKE__TRADER__PAPER__BALANCES__BYBIT__SOL": "3",
                                                          "SPREADLAKE__TRADER__RISK__LIMITS__MAX_POSITION__BTC": "0.05"})
    balances = settings.trader.paper.balances
    assert balances["binance"] == {"USDT": Decimal(5000), "BTC": Decimal("0.3"), "ETH": Decimal(5)}
    assert balances["bybit"]["SOL"] == Decimal(3)
    assert settings.trader.risk.limits.max_position == {"BTC": Decimal("0.05"), "ETH": Decimal(2)}


def test_the_instance_list_can_be_replaced_from_the_environment(tmp_path: Path) -> None:
    value = "[{id: only, kind: cross_exchange, venues: [bybit, kucoin], symbols: [ETH-USDT], size: 0.2, min_profit_bps: 4}]"
    settings = load_settings(write(tmp_path, DEMO_TEXT), {"SPREADLAKE__TRADER__INSTANCES": value})
    assert [(i.id, i.venues, i.size) for i in settings.trader.instances] == [("only", ("bybit", "kucoin"), Decimal("0.2"))]


def test_an_error_from_an_override_names_the_variable_and_the_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, DEMO_TEXT), {"SPREADLAKE__TRADER__MODE": "live"})
    assert err.value.key == "trader.mode"
    assert "SPREADLAKE__TRADER__MODE" in str(err.value)


def test_an_exposed_api_from_the_environment_is_refused_without_showing_any_token(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, DEMO_TEXT), {"SPREADLAKE__TRADER__API__HOST": "0.0.0.0",
                                                   "SPREADLAKE__TRADER__STREAM__TOKEN": "PLANTED-stream"})
    assert err.value.key == "trader.api.token"
    assert "PLANTED" not in str(err.value)


def test_trader_tokens_are_secrets(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, DEMO_TEXT), {"SPREADLAKE__TRADER__API__TOKEN": "PLANTED-api-token",
                                                          "SPREADLAKE__TRADER__STREAM__TOKEN": "PLANTED-stream-token"})
    assert isinstance(settings.trader.api.token, SecretStr) and isinstance(settings.trader.stream.token, SecretStr)
    assert "PLANTED" not in repr(settings) + settings.model_dump_json()
    assert {"PLANTED-api-token", "PLANTED-stream-token"} <= set(secret_values(settings))
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, DEMO_TEXT.replace("    port: 8790\n", "    port: 8790\n    token: 12345678901\n")))
    assert err.value.key == "trader.api.token" and "12345678901" not in str(err.value)


def test_settings_without_exchanges_accept_a_default_trader_section() -> None:
    assert Settings().trader.instances == ()
