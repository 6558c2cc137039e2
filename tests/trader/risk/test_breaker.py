"""The circuit breaker's state cycle, on a test clock."""

from __future__ import annotations

from trader.risk import BreakerConfig, BreakerState, CircuitBreaker

S = 1_000_000_000
CONFIG = BreakerConfig(failures=3, window_ns=10 * S, cooldown_ns=30 * S)


def opened_at(now: int) -> CircuitBreaker:
    breaker = CircuitBreaker(CONFIG)
    for t in (now - 2 * S, now - S, now):
        breaker.record_failure(t, "rejected")
    return breaker


def test_failures_spread_wider_than_the_window_keep_it_closed() -> None:
    breaker = CircuitBreaker(CONFIG)
    for t in (0, 6 * S, 12 * S, 18 * S):
        breaker.record_failure(t, "rejected")
    assert breaker.state(18 * S) is BreakerState.CLOSED and breaker.allows(18 * S)


def test_n_failures_within_the_window_open_it_for_the_cooling_period() -> None:
    breaker = opened_at(100 * S)
    assert breaker.state(100 * S) is BreakerState.OPEN and not breaker.allows(100 * S)
    assert breaker.state(130 * S - 1) is BreakerState.OPEN
    assert breaker.last_failure == "rejected"


def test_after_cooling_it_is_half_open_and_lets_one_trial_through() -> None:
    breaker = opened_at(100 * S)
    assert breaker.state(130 * S) is BreakerState.HALF_OPEN
    assert breaker.allows(130 * S)
    breaker.trial_started(130 * S)
    assert not breaker.allows(131 * S)  # one trial at a time


def test_one_success_in_half_open_closes_it() -> None:
    breaker = opened_at(100 * S)
    breaker.trial_started(130 * S)
    breaker.record_success(131 * S)
    assert breaker.state(131 * S) is BreakerState.CLOSED and breaker.allows(131 * S)
    breaker.record_failure(132 * S)  # the window started afresh: one failure does not reopen it
    assert breaker.state(132 * S) is BreakerState.CLOSED


def test_a_failure_in_half_open_opens_it_again_for_a_full_cooling_period() -> None:
    breaker = opened_at(100 * S)
    breaker.trial_started(130 * S)
    breaker.record_failure(131 * S, "trial rejected")
    assert breaker.state(131 * S) is BreakerState.OPEN
    assert breaker.state(161 * S) is BreakerState.HALF_OPEN


def test_a_success_while_open_does_not_close_it() -> None:
    breaker = opened_at(100 * S)
    breaker.record_success(101 * S)  # an order sent before it opened
    assert breaker.state(101 * S) is BreakerState.OPEN


def test_a_trial_that_never_reports_frees_the_slot_after_a_cooling_period() -> None:
    breaker = opened_at(100 * S)
    breaker.trial_started(130 * S)
    assert not breaker.allows(159 * S)
    assert breaker.allows(160 * S)
