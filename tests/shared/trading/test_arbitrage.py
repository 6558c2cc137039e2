"""The arbitrage state machine on its success path and every failure path."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.trading import ArbitrageAttempt, ArbitrageState, InvalidTransition, Leg, LegStatus, Side
from tests.shared.trading.values import FEE, cross_proposal, fill_of, triangle_proposal

S = 1_000_000_000


def attempt() -> ArbitrageAttempt:
    return ArbitrageAttempt.from_proposal(cross_proposal(), "a1", ts=100, time_bound_ns=5 * S)


def both_sent() -> ArbitrageAttempt:
    return attempt().sent(0, "c-buy", 101).sent(1, "c-sell", 102)


def unwind_leg(amount: str) -> Leg:
    """Sell back on binance what the buy leg bought."""
    return Leg("binance", "BTC-USDT", Side.SELL, D(amount), D("99.90"), D("99.95"), FEE)


def test_proposed_sent_partly_filled_then_filled() -> None:
    a = attempt()
    assert a.state is ArbitrageState.PROPOSED and a.deadline_ns == 100 + 5 * S
    a = a.sent(0, "c-buy", 101)
    assert a.state is ArbitrageState.SENT
    a = a.sent(1, "c-sell", 102)
    buy, sell = a.legs[0].leg, a.legs[1].leg
    a = a.filled(0, fill_of("c-buy", buy, "0.400", "100.00"), 103)
    assert a.state is ArbitrageState.PARTIALLY_FILLED and a.legs[0].status is LegStatus.PARTIALLY_FILLED
    a = a.filled(0, fill_of("c-buy", buy, "0.600", "100.10"), 104).filled(1, fill_of("c-sell", sell, "0.999", "100.48"), 105)
    assert a.state is ArbitrageState.FILLED and a.is_final
    assert a.exposure() == {}  # bought 1.000, paid 0.001 in fees, sold 0.999: the base nets out


def test_a_rejected_first_leg_with_nothing_filled_aborts() -> None:
    a = both_sent().failed(0, "rejected: insufficient balance", 103).failed(1, "canceled", 104)
    assert a.state is ArbitrageState.SENT and a.legs[0].status is LegStatus.FAILED
    a = a.abandon("first leg rejected", 105)
    assert a.state is ArbitrageState.ABORTED and a.exposure() == {}


def test_a_failed_leg_is_retried_and_then_fills() -> None:
    a = both_sent()
    a = a.filled(0, fill_of("c-buy", a.legs[0].leg, "1.000"), 103).failed(1, "timed out", 104)
    a = a.sent(1, "c-sell-2", 105)
    assert a.legs[1].orders == ("c-sell", "c-sell-2") and a.legs[1].status is LegStatus.SENT
    a = a.filled(1, fill_of("c-sell-2", a.legs[1].leg, "0.999"), 106)
    assert a.state is ArbitrageState.FILLED


def test_a_partial_fill_whose_order_ends_is_retried_for_the_rest() -> None:
    a = both_sent()
    a = a.filled(1, fill_of("c-sell", a.legs[1].leg, "0.500"), 103).failed(1, "ioc remainder canceled", 104)
    a = a.sent(1, "c-sell-2", 105)
    assert a.legs[1].status is LegStatus.PARTIALLY_FILLED and a.legs[1].remaining == D("0.499")


def test_a_leg_that_fails_after_the_other_filled_is_hedged_and_the_attempt_is_done() -> None:
    a = both_sent()
    a = a.filled(0, fill_of("c-buy", a.legs[0].leg, "1.000"), 103).failed(1, "rejected", 104)
    assert a.exposure() == {"BTC": D("0.999000")}
    a = a.start_hedging([unwind_leg("0.999")], "sell leg rejected", 105)
    assert a.state is ArbitrageState.HEDGING
    a = a.hedge_sent(0, "c-hedge", 106).hedge_filled(0, fill_of("c-hedge", a.hedges[0].leg, "0.999"), 107)
    assert a.state is ArbitrageState.DONE and a.exposure() == {}


def test_a_hedge_that_fails_leaves_the_attempt_failed_unhedged_with_its_exposure() -> None:
    a = both_sent()
    a = a.filled(0, fill_of("c-buy", a.legs[0].leg, "1.000"), 103).failed(1, "venue stale", 104)
    a = a.start_hedging([unwind_leg("0.999")], "sell venue went stale", 105).hedge_sent(0, "c-hedge", 106)
    a = a.hedge_failed(0, "rejected", 107).hedge_sent(0, "c-hedge-2", 108).hedge_failed(0, "rejected", 109)
    a = a.abandon("hedge failed twice", 110)
    assert a.state is ArbitrageState.FAILED_UNHEDGED and a.is_final
    assert a.exposure() == {"BTC": D("0.999000")}


def test_a_partly_filled_hedge_leaves_the_unhedged_part_as_exposure() -> None:
    a = both_sent()
    a = a.filled(0, fill_of("c-buy", a.legs[0].leg, "1.000"), 103).failed(1, "rejected", 104)
    a = a.start_hedging([unwind_leg("0.999")], "unwind", 105).hedge_sent(0, "c-hedge", 106)
    a = a.hedge_filled(0, fill_of("c-hedge", a.hedges[0].leg, "0.600"), 107).hedge_failed(0, "timed out", 108)
    a = a.abandon("out of time", 109)
    assert a.state is ArbitrageState.FAILED_UNHEDGED and a.exposure() == {"BTC": D("0.399000")}


def test_legs_not_yet_sent_are_skipped_when_hedging_starts() -> None:
    a = ArbitrageAttempt.from_proposal(triangle_proposal(), "a2", ts=0, time_bound_ns=S)
    a = a.sent(0, "c1", 1)
    a = a.filled(0, fill_of("c1", a.legs[0].leg, "2.000"), 2)
    a = a.sent(1, "c2", 3).failed(1, "rejected", 4)
    a = a.start_hedging([Leg("binance", "BTC-USDT", Side.SELL, D("1.998"), D(99), D(99), FEE)], "leg 2 rejected", 5)
    assert [leg.status for leg in a.legs] == [LegStatus.FILLED, LegStatus.FAILED, LegStatus.SKIPPED]


def test_a_late_fill_after_done_reopens_exposure_as_failed_unhedged() -> None:
    a = both_sent()
    a = a.filled(0, fill_of("c-buy", a.legs[0].leg, "0.500"), 103).failed(0, "timed out", 104).failed(1, "canceled", 104)
    a = a.start_hedging([unwind_leg("0.499")], "unwind", 105).hedge_sent(0, "h", 106)
    a = a.hedge_filled(0, fill_of("h", a.hedges[0].leg, "0.499"), 107)
    assert a.state is ArbitrageState.DONE
    a = a.filled(0, fill_of("c-buy", a.legs[0].leg, "0.100", trade_id="late"), 108)
    assert a.state is ArbitrageState.FAILED_UNHEDGED and "late fill late" in a.reason
    # 0.0999 from the late fill, plus the 0.0005 under a lot the unwind of 0.4995 could not sell
    assert a.exposure() == {"BTC": D("0.100400")}


def test_transitions_the_state_does_not_allow_are_refused() -> None:
    filled = both_sent()
    filled = filled.filled(0, fill_of("c-buy", filled.legs[0].leg, "1.000"), 1).filled(1, fill_of("c-sell", filled.legs[1].leg, "0.999"), 2)
    with pytest.raises(InvalidTransition):
        filled.abandon("too late", 3)
    with pytest.raises(InvalidTransition, match="cannot start hedging"):
        both_sent().start_hedging([unwind_leg("1")], "nothing filled yet", 3)
    with pytest.raises(InvalidTransition, match="cannot be sent again"):
        both_sent().sent(0, "c-again", 3)
    with pytest.raises(InvalidTransition, match="not an order of this leg"):
        both_sent().filled(0, fill_of("c-other", cross_proposal().legs[0], "0.1"), 3)
    with pytest.raises(InvalidTransition, match="exceeds"):
        both_sent().filled(0, fill_of("c-buy", cross_proposal().legs[0], "1.5"), 3)
    hedging = both_sent()
    hedging = hedging.filled(0, fill_of("c-buy", hedging.legs[0].leg, "1.000"), 1).start_hedging([unwind_leg("0.999")], "x", 2)
    with pytest.raises(InvalidTransition, match="cannot send a leg"):
        hedging.sent(1, "c-sell-2", 3)
    with pytest.raises(InvalidTransition, match="no leg 5"):
        both_sent().failed(5, "x", 3)


def test_an_attempt_past_its_time_bound_is_overdue_until_it_is_final() -> None:
    a = both_sent()
    assert not a.is_overdue(100 + 5 * S) and a.is_overdue(100 + 5 * S + 1)
    assert not a.abandon("timed out", 100 + 6 * S).is_overdue(100 + 7 * S)
    assert a.order_ids() == ("c-buy", "c-sell")
