"""The risk manager deciding on proposals: each gate, the kill switch on a proposal in flight, safe
mode entry and exit, the breaker, resizing, and the logged reason of every decision."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import msgspec
import pytest

from shared.trading import DecisionReason, Intent, Leg, Order, OrderStatus, OrderType, Proposal, Side, StrategyKind, TimeInForce, Verdict
from tests.shared.trading.values import FEE, INSTRUMENTS, cross_proposal
from tests.trader.market_data import MS, T0, S, balances, book
from trader.market import MarketView, MarketViewConfig
from trader.risk import BreakerConfig, Portfolio, RiskConfig, RiskLimits, RiskManager, SafeModeCause, SafeModeConfig, assess
from trader.strategies import Requirement

CONFIG = RiskConfig(
    limits=RiskLimits(max_trade_notional=D(1000), max_position={"BTC": D(5)}, max_position_value=D(10_000),
                      max_venue_value=D(100_000), max_open_orders=20, max_daily_loss=D(200)),
    breaker=BreakerConfig(failures=3, window_ns=10 * S, cooldown_ns=30 * S),
    safe_mode=SafeModeConfig(auto_exit=True, stale_after_ns=5 * S, errors=3, error_window_ns=10 * S),
)
FUNDED = balances(("binance", "USDT", "1000"), ("bybit", "BTC", "5"))
TRADED = [("binance", "BTC-USDT"), ("bybit", "BTC-USDT")]


def market(at: int = T0) -> MarketView:
    view = MarketView(MarketViewConfig(max_book_age_ns=2 * S))
    view.on_book(book("bybit", "BTC-USDT", [(100.40, 5.0)], [(100.60, 5.0)], at=at - MS))
    view.on_book(book("binance", "BTC-USDT", [(99.95, 5.0)], [(100.05, 5.0)], at=at))  # BTC valued at its mid, 100
    return view


def risk(view: MarketView | None = None, config: RiskConfig = CONFIG) -> RiskManager:
    return RiskManager(config, INSTRUMENTS, view or market())


def hedge() -> Proposal:
    leg = Leg("bybit", "BTC-USDT", Side.SELL, D("0.999"), D("100.40"), D("100.48"), FEE)
    return Proposal("h1", "xex", StrategyKind.CROSS_EXCHANGE, Intent.HEDGE, "binance>bybit", (leg,), D(0), D(0), "USDT", 1, 2, "a1")


def unwind() -> Proposal:
    return msgspec.structs.replace(hedge(), id="u1", intent=Intent.UNWIND, attempt_id=None)


def test_a_proposal_within_every_limit_is_approved_and_the_decision_logged(caplog: pytest.LogCaptureFixture) -> None:
    manager = risk()
    with caplog.at_level(logging.INFO, logger="trader.risk"):
        decision = manager.decide(cross_proposal(), Portfolio(FUNDED), T0)
    assert (decision.verdict, decision.reason, decision.proposal, decision.ts_event) == (Verdict.APPROVED, DecisionReason.OK, cross_proposal(), T0)
    assert "proposal p1 (xex) approved: ok: within every limit" in caplog.text
    assert manager.counts == {"approved/ok": 1}


def test_the_kill_switch_denies_a_proposal_made_before_it_and_decided_after() -> None:
    manager = risk()
    proposal = cross_proposal()  # proposed before the kill...
    manager.kill.engage(T0 + MS, "operator: kill")
    decision = manager.decide(proposal, Portfolio(FUNDED), T0 + 2 * MS)  # ...decided after it
    assert (decision.verdict, decision.reason) == (Verdict.DENIED, DecisionReason.KILL_SWITCH)
    assert decision.detail == "kill switch engaged: operator: kill"


def test_the_kill_switch_withdraws_an_approval_not_yet_sent() -> None:
    manager = risk()
    approved = manager.decide(cross_proposal(), Portfolio(FUNDED), T0)
    assert manager.recheck(approved, T0 + MS) is approved
    manager.kill.engage(T0 + 2 * MS, "operator: kill")
    withdrawn = manager.recheck(approved, T0 + 3 * MS)
    assert (withdrawn.verdict, withdrawn.reason) == (Verdict.DENIED, DecisionReason.KILL_SWITCH)
    assert withdrawn.detail.startswith("after approval: kill switch engaged")


def test_the_kill_switch_lets_hedges_through_and_unwinds_only_when_flattening() -> None:
    manager = risk()
    manager.kill.engage(T0, "operator: kill")
    assert manager.decide(hedge(), Portfolio(FUNDED), T0).verdict is Verdict.APPROVED
    assert manager.decide(unwind(), Portfolio(FUNDED), T0).reason is DecisionReason.KILL_SWITCH
    manager.kill.engage(T0, "operator: kill --flatten", flatten=True)
    assert manager.decide(unwind(), Portfolio(FUNDED), T0).verdict is Verdict.APPROVED
    manager.kill.release()
    assert manager.decide(cross_proposal(), Portfolio(FUNDED), T0).verdict is Verdict.APPROVED


def test_safe_mode_denies_new_positions_but_lets_hedges_through_until_its_cause_clears() -> None:
    manager = risk()
    manager.reconciled(T0, "binance BTC: journal 1.0, venue 0.9")
    denied = manager.decide(cross_proposal(), Portfolio(FUNDED), T0)
    assert (denied.reason, denied.detail) == (DecisionReason.SAFE_MODE, "safe mode (reconciliation_mismatch: binance BTC: journal 1.0, venue 0.9)")
    assert manager.decide(hedge(), Portfolio(FUNDED), T0).verdict is Verdict.APPROVED
    manager.reconciled(T0 + S, None)
    assert manager.decide(cross_proposal(), Portfolio(FUNDED), T0 + S).verdict is Verdict.APPROVED


def test_stale_data_on_a_traded_venue_enters_safe_mode_after_a_grace_and_leaves_when_fresh() -> None:
    view = market()
    manager = risk(view)
    manager.observe(T0 + 3 * S, TRADED)  # books 3 s old, over the 2 s bound: untradeable from here
    assert not manager.safe_mode.active
    manager.observe(T0 + 8 * S, TRADED)  # untradeable for 5 s
    assert manager.safe_mode.active
    assert SafeModeCause.STALE_DATA in manager.safe_mode.status().causes
    for fresh in (book("binance", "BTC-USDT", [(99.95, 5.0)], [(100.05, 5.0)], at=T0 + 9 * S),
                  book("bybit", "BTC-USDT", [(100.40, 5.0)], [(100.60, 5.0)], at=T0 + 9 * S)):
        view.on_book(fresh)
    manager.observe(T0 + 9 * S, TRADED)
    assert not manager.safe_mode.active


def test_without_auto_exit_safe_mode_waits_for_an_operator() -> None:
    config = RiskConfig(limits=CONFIG.limits, safe_mode=SafeModeConfig(auto_exit=False))
    manager = risk(config=config)
    manager.unhedged(T0, {"BTC": D("0.5")})
    manager.unhedged(T0 + S, {})
    assert manager.decide(cross_proposal(), Portfolio(FUNDED), T0 + S).reason is DecisionReason.SAFE_MODE
    manager.safe_mode.operator_exit()
    assert manager.decide(cross_proposal(), Portfolio(FUNDED), T0 + S).verdict is Verdict.APPROVED


def test_repeated_errors_enter_safe_mode_until_they_age_out_of_the_window() -> None:
    manager = risk()
    for i in range(3):
        manager.error(T0 + i * S, "executor timeout")
    assert manager.safe_mode.active
    manager.observe(T0 + 11 * S, [])
    assert not manager.safe_mode.active


def test_unhedged_exposure_enters_safe_mode_until_it_is_closed() -> None:
    manager = risk()
    manager.unhedged(T0, {"BTC": D("0.5"), "ETH": D(0)})
    assert manager.safe_mode.status().causes == {SafeModeCause.UNHEDGED_EXPOSURE: "0.5 BTC"}
    manager.unhedged(T0 + S, {"BTC": D(0)})
    assert not manager.safe_mode.active


def test_the_open_breaker_denies_then_half_open_lets_one_trial_whose_success_closes_it() -> None:
    manager = risk()
    for i in range(3):
        manager.order_failed(T0 + i * MS, "rejected: insufficient balance")
    assert manager.decide(cross_proposal(), Portfolio(FUNDED), T0 + S).reason is DecisionReason.CIRCUIT_OPEN
    assert manager.decide(hedge(), Portfolio(FUNDED), T0 + S).verdict is Verdict.APPROVED  # hedges are never held back
    later = T0 + 31 * S
    view = market(later)
    manager.view = view
    trial = manager.decide(cross_proposal(), Portfolio(FUNDED), later)
    assert trial.verdict is Verdict.APPROVED
    assert manager.decide(cross_proposal(), Portfolio(FUNDED), later).reason is DecisionReason.CIRCUIT_OPEN
    manager.order_succeeded(later + MS)
    assert manager.decide(cross_proposal(), Portfolio(FUNDED), later + MS).verdict is Verdict.APPROVED


def test_a_stale_leg_denies_a_new_position() -> None:
    decision = risk().decide(cross_proposal(), Portfolio(FUNDED), T0 + 3 * S)
    assert decision.reason is DecisionReason.STALE_DATA and "book is" in decision.detail


def test_the_daily_loss_limit_denies_new_positions_not_hedges() -> None:
    manager = risk()
    lost = Portfolio(FUNDED, realized_today=D(-250))
    assert manager.decide(cross_proposal(), lost, T0).reason is DecisionReason.DAILY_LOSS
    assert manager.decide(hedge(), lost, T0).verdict is Verdict.APPROVED


def test_too_many_open_orders_denies() -> None:
    assert risk().decide(cross_proposal(), Portfolio(FUNDED, open_orders=19), T0).reason is DecisionReason.OPEN_ORDERS


def test_a_short_inventory_stops_that_direction_and_names_the_transfer() -> None:
    funds = balances(("binance", "USDT", "1000"), ("bybit", "BTC", "0.2"), ("binance", "BTC", "3"))
    needs = [Requirement("xex", "binance>bybit", "bybit", "BTC", D(1))]
    decision = risk().decide(cross_proposal(sell="0.199"), Portfolio(funds, inventory=assess(needs, funds)), T0)
    assert decision.reason is DecisionReason.INVENTORY_SHORT
    assert decision.detail.endswith("transfer 0.8 BTC from binance to bybit")


def test_limits_resize_a_proposal_by_the_tightest_of_them() -> None:
    config = RiskConfig(limits=RiskLimits(max_trade_notional=D(50), max_position={"BTC": D(5)}))
    funds = balances(("binance", "USDT", "40"), ("bybit", "BTC", "5"))
    decision = risk(config=config).decide(cross_proposal(), Portfolio(funds), T0)
    # Notional allows 50 / 100.38 = 0.498 of it, the 40 USDT on binance 40 / 100.10 = 0.3996: the balance binds.
    assert (decision.verdict, decision.reason) == (Verdict.RESIZED, DecisionReason.BALANCE_LIMIT)
    assert [leg.amount for leg in decision.proposal.legs] == [D("0.399"), D("0.398")]  # 0.399 * 0.999 = 0.398601
    assert "leg notional" in decision.detail and "binance needs 100.10000 USDT, has 40 free" in decision.detail
    assert decision.proposal_id == "p1" and decision.proposal.id == "p1"


def test_a_resize_that_falls_under_a_venue_minimum_is_denied() -> None:
    config = RiskConfig(limits=RiskLimits(max_trade_notional=D(5)))
    decision = risk(config=config).decide(cross_proposal(), Portfolio(FUNDED), T0)
    assert (decision.verdict, decision.reason) == (Verdict.DENIED, DecisionReason.BELOW_MINIMUM)


def test_a_limit_with_no_room_left_denies() -> None:
    decision = risk().decide(cross_proposal(), Portfolio(FUNDED, positions={"BTC": D(5)}), T0)
    assert (decision.verdict, decision.reason) == (Verdict.DENIED, DecisionReason.POSITION_LIMIT)


def test_an_asset_without_a_price_is_denied_for_want_of_valuation() -> None:
    view = MarketView()
    view.on_book(book("binance", "ETH-BTC", [(0.049, 50.0)], [(0.05, 50.0)]))
    leg = Leg("binance", "ETH-BTC", Side.BUY, D("1.00"), D("0.05"), D("0.05"), FEE)
    proposal = Proposal("p9", "tri", StrategyKind.TRIANGULAR, Intent.OPEN, "x", (leg,), D(1), D(0), "BTC", 1, 2)
    decision = risk(view).decide(proposal, Portfolio(balances(("binance", "BTC", "1"))), T0)
    assert (decision.reason, decision.detail) == (DecisionReason.NO_VALUATION, "no price for BTC")


def test_the_status_reports_breaker_safe_mode_kill_and_decisions() -> None:
    manager = risk()
    manager.kill.engage(T0, "drill")
    manager.decide(cross_proposal(), Portfolio(FUNDED), T0)
    status = manager.status(T0)
    assert (status.breaker.value, status.safe_mode.active, status.killed, status.kill_reason) == ("closed", False, True, "drill")
    assert status.decisions == {"denied/kill_switch": 1}


def answered(cid: str, tif: TimeInForce, status: OrderStatus, reason: str, order_type: OrderType = OrderType.LIMIT) -> Order:
    return Order(cid, "binance", "main", "BTC-USDT", Side.BUY, order_type, D("0.1"), None if order_type is OrderType.MARKET else D(100),
                 tif, status, reason=reason)


def test_orders_that_only_met_the_market_as_it_was_do_not_feed_the_breaker() -> None:
    manager = risk()
    benign = [
        answered("o1", TimeInForce.POST_ONLY, OrderStatus.REJECTED, "post-only order at 100 would take liquidity at 99.99"),
        answered("o2", TimeInForce.POST_ONLY, OrderStatus.REJECTED, "Order would immediately match and take."),
        answered("o3", TimeInForce.IOC, OrderStatus.CANCELED, "immediate-or-cancel remainder"),
        answered("o4", TimeInForce.FOK, OrderStatus.CANCELED, "fill-or-kill: only 0.05 available"),
        answered("o5", TimeInForce.IOC, OrderStatus.CANCELED, "no more liquidity", OrderType.MARKET),
    ]
    for i, order in enumerate(benign * 2):
        manager.order_answered(T0 + i * MS, order)
    assert manager.decide(cross_proposal(), Portfolio(FUNDED), T0 + S).verdict is Verdict.APPROVED
    assert manager.breaker.last_failure == ""


def test_rejections_that_say_something_about_the_venue_open_the_breaker() -> None:
    manager = risk()
    manager.order_answered(T0, answered("o1", TimeInForce.POST_ONLY, OrderStatus.REJECTED, "insufficient USDT on binance"))
    manager.order_answered(T0 + MS, answered("o2", TimeInForce.IOC, OrderStatus.REJECTED, "rate limit exceeded"))
    manager.order_answered(T0 + 2 * MS, answered("o3", TimeInForce.GTC, OrderStatus.CANCELED, "canceled by the venue"))
    decision = manager.decide(cross_proposal(), Portfolio(FUNDED), T0 + S)
    assert decision.reason is DecisionReason.CIRCUIT_OPEN and "order o3 canceled: canceled by the venue" in decision.detail
