"""Recovery on real files: a journal and a paper venue store, each reopened as after a crash of the
trader, then reconciled. One test per path: never sent, adopted, lost, unknown fill, balance mismatch,
executor unreachable or too slow (fail closed)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

from shared.events import Side
from shared.trading import Balance, CancelOrder, OrderStatus, SubmitOrder, TimeInForce
from tests.trader.execution.paper_setup import FUNDS, ManualClock, btc_book, order, paper
from tests.trader.journal.journal_setup import BUY, SELL, attempt, leg_order, open_journal
from tests.trader.market_data import T0, S
from trader.execution import PaperExecutor
from trader.journal import Journal
from trader.recovery import NEVER_SENT, OrderAction, RecoveryReport, RecoveryStatus, check, recover


class Trader:
    """The trader's side of sending, step by step, so a test can stop it (crash) between any two steps."""

    def __init__(self, tmp_path: Path, clock: ManualClock, funds: tuple[Balance, ...] = FUNDS) -> None:
        self.tmp_path, self.clock = tmp_path, clock
        self.journal = open_journal(tmp_path / "journal.db", clock)
        self.venue = paper(tmp_path / "venue.db", clock, funds)
        self.venue.on_book(btc_book("binance", asks=((100.00, 1.0),)))
        self.venue.on_book(btc_book("bybit", bids=((100.60, 1.0),), asks=((100.70, 1.0),)))
        self.journal.snapshot_balances(asyncio.run(self.venue.balances()).values(), "executor")

    def intend(self, command: SubmitOrder, with_attempt: bool = True) -> None:
        if with_attempt and command.attempt_id is not None:
            journaled = self.journal.attempt(command.attempt_id) or attempt(command.attempt_id)
            index = 0 if command.venue == "binance" else 1
            self.journal.record_intent(command.to_order(), journaled.sent(index, command.client_order_id, self.clock()))
        else:
            self.journal.record_intent(command.to_order())

    def send(self, command: SubmitOrder) -> None:
        asyncio.run(self.venue.submit(command))

    def hear(self, command: SubmitOrder) -> None:
        """The answer reaches the journal (what a crash before this step loses)."""
        venue_order = asyncio.run(self.venue.order(command.client_order_id))
        assert venue_order is not None
        for fill in asyncio.run(self.venue.fills()):
            if fill.client_order_id == command.client_order_id:
                self.journal.record_fill(fill)
        self.journal.record_order(venue_order)

    def crash_and_restart(self, venue: PaperExecutor | None = None) -> tuple[Journal, PaperExecutor]:
        self.journal.close()  # the process is gone: no end_session
        self.venue.close()
        self.clock.advance(3 * S)
        journal = Journal(self.tmp_path / "journal.db", self.clock)
        journal.start_session()
        return journal, venue or paper(self.tmp_path / "venue.db", self.clock, funds=())


def recovered(journal: Journal, venue: PaperExecutor, clock: ManualClock, **options: float) -> RecoveryReport:
    return asyncio.run(recover(journal, venue, clock, **options))  # type: ignore[arg-type]


def test_with_nothing_in_flight_the_records_agree(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    command = leg_order(BUY, "c1")
    trader.intend(command)
    trader.send(command)
    trader.hear(command)
    journal, venue = trader.crash_and_restart()
    report = recovered(journal, venue, clock)
    assert report.status is RecoveryStatus.CLEAN and report.may_trade and not report.safe_mode
    assert report.orders == () and report.balance_mismatches == ()


def test_an_order_journaled_but_never_sent_is_marked_never_sent_and_its_arbitrage_aborted(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    trader.intend(leg_order(BUY, "c1"))  # crash here, before the executor was called
    journal, venue = trader.crash_and_restart()
    report = recovered(journal, venue, clock)
    assert report.status is RecoveryStatus.CLEAN
    assert [(o.client_order_id, o.action, o.after) for o in report.orders] == [("c1", OrderAction.NEVER_SENT, OrderStatus.REJECTED)]
    order = journal.order("c1")
    assert order is not None and order.reason == NEVER_SENT
    assert [(a.attempt_id, a.after, a.needs_action) for a in report.attempts] == [("a1", "aborted", False)]
    assert asyncio.run(venue.order("c1")) is None  # and nothing was sent for it


def test_an_order_the_executor_filled_before_the_journal_heard_is_adopted_with_its_fills(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    command = leg_order(BUY, "c1")
    trader.intend(command)
    trader.send(command)  # crash here: the venue filled it, the journal never heard
    journal, venue = trader.crash_and_restart()
    report = recovered(journal, venue, clock)
    assert report.status is RecoveryStatus.CLEAN  # balances agree once the missing fill is in the journal
    [outcome] = report.orders
    assert (outcome.action, outcome.before, outcome.after, outcome.fills_added) == (OrderAction.ADOPTED, OrderStatus.INITIALIZED,
                                                                                    OrderStatus.FILLED, 1)
    assert journal.fills("c1") == asyncio.run(venue.fills())
    # One leg filled, the other never sent: reported with its exposure, for the trader to hedge.
    [arbitrage] = report.exposed
    assert (arbitrage.after, arbitrage.exposure) == ("partially_filled", {"BTC": D("0.4995")})
    journaled = journal.attempt("a1")
    assert journaled is not None and journaled.legs[0].filled == D("0.500")


def test_an_arbitrage_whose_legs_both_filled_unheard_completes_on_recovery(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    for leg, cid in ((BUY, "c1"), (SELL, "c2")):
        command = leg_order(leg, cid)
        trader.intend(command)
        trader.send(command)
    journal, venue = trader.crash_and_restart()
    report = recovered(journal, venue, clock)
    assert report.status is RecoveryStatus.CLEAN
    assert [(a.after, a.needs_action) for a in report.attempts] == [("filled", False)]
    assert journal.attempts(in_flight=True) == ()


def test_an_order_whose_arbitrage_update_was_lost_is_matched_to_its_leg(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    trader.journal.record_attempt(attempt())  # proposed; the update listing c1 never made it
    command = leg_order(BUY, "c1")
    trader.intend(command, with_attempt=False)
    trader.send(command)
    journal, venue = trader.crash_and_restart()
    report = recovered(journal, venue, clock)
    journaled = journal.attempt("a1")
    assert journaled is not None and journaled.legs[0].orders == ("c1",) and journaled.legs[0].filled == D("0.500")
    assert report.status is RecoveryStatus.CLEAN


def test_a_resting_order_open_at_the_executor_is_adopted_as_open(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    command = order("c1", amount="0.5", price="99.00", tif=TimeInForce.GTC, attempt_id=None)
    trader.intend(command)
    trader.send(command)
    journal, venue = trader.crash_and_restart()
    report = recovered(journal, venue, clock)
    assert report.status is RecoveryStatus.CLEAN
    assert [o.client_order_id for o in report.open_orders] == ["c1"]
    adopted = journal.order("c1")
    assert adopted is not None and adopted.status is OrderStatus.ACCEPTED and adopted.venue_order_id == "paper-1"


def test_an_ioc_leg_the_venue_partly_filled_and_canceled_fails_the_leg_and_reports_exposure(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    trader.venue.on_book(btc_book("binance", asks=((100.00, 0.2), (100.50, 1.0)), sequence=2))
    command = leg_order(BUY, "c1")  # limit 100.10: only 0.2 crosses
    trader.intend(command)
    trader.send(command)
    journal, venue = trader.crash_and_restart()
    report = recovered(journal, venue, clock)
    assert [(o.after, o.fills_added) for o in report.orders] == [(OrderStatus.CANCELED, 1)]
    journaled = journal.attempt("a1")
    assert journaled is not None and journaled.legs[0].status.value == "failed" and journaled.legs[0].filled == D("0.200")
    assert [a.exposure for a in report.exposed] == [{"BTC": D("0.1998")}]


def test_a_fill_of_an_order_the_journal_never_had_is_a_mismatch(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    trader.send(order("outsider", amount="0.1"))  # someone traded the account behind the journal's back
    journal, venue = trader.crash_and_restart()
    report = recovered(journal, venue, clock)
    assert report.status is RecoveryStatus.MISMATCH and report.may_trade and report.safe_mode
    assert any("outsider, which the journal never had" in p for p in report.problems)
    assert {(m.venue, m.asset) for m in report.balance_mismatches} == {("binance", "BTC"), ("binance", "USDT")}
    assert journal.risk_events(kind="reconciliation")[-1].reason == "mismatch"


def test_an_acknowledged_order_the_executor_no_longer_knows_is_lost_and_a_mismatch(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    command = order("c1", amount="0.5", price="99.00", attempt_id=None)
    trader.intend(command)
    trader.send(command)
    trader.hear(command)
    fresh_venue = paper(tmp_path / "other-venue.db", clock)  # the venue lost its records (or it is the wrong one)
    journal, venue = trader.crash_and_restart(fresh_venue)
    report = recovered(journal, venue, clock)
    assert report.status is RecoveryStatus.MISMATCH
    assert [(o.action, o.after) for o in report.orders] == [(OrderAction.LOST, OrderStatus.ACCEPTED)]
    assert any("acknowledged" in p for p in report.problems)


def test_balances_that_differ_beyond_the_tolerance_are_reported(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    less = tuple(Balance(b.venue, b.account, b.asset, b.free - (D("0.5") if b.asset == "USDT" else 0)) for b in FUNDS)
    journal, venue = trader.crash_and_restart(paper(tmp_path / "other-venue.db", clock, less))
    tight = recovered(journal, venue, clock, tolerance=D("0.1"))  # type: ignore[arg-type]
    assert tight.status is RecoveryStatus.MISMATCH
    assert [(m.venue, m.asset, m.difference) for m in tight.balance_mismatches] == [("binance", "USDT", D("-0.5")), ("bybit", "USDT", D("-0.5"))]
    loose = recovered(journal, venue, clock, tolerance=D("1"))  # type: ignore[arg-type]
    assert loose.status is RecoveryStatus.CLEAN


def test_an_unreachable_executor_makes_it_refuse_to_trade_and_write_nothing_but_why(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    trader.intend(leg_order(BUY, "c1"))
    journal, venue = trader.crash_and_restart()
    venue.close()  # its store cannot be read
    report = recovered(journal, venue, clock)
    assert report.status is RecoveryStatus.REFUSED and not report.may_trade
    assert "ExecutorUnavailable" in report.reason and "refusing to trade" in report.reason
    order = journal.order("c1")
    assert order is not None and order.status is OrderStatus.INITIALIZED  # not guessed at
    assert journal.risk_events(kind="reconciliation")[-1].reason == "refused"


def test_an_executor_that_does_not_answer_in_time_makes_it_refuse_to_trade(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    trader.intend(leg_order(BUY, "c1"))
    journal, _ = trader.crash_and_restart()
    slow = paper(tmp_path / "venue.db", clock, funds=(), latency_s=5.0)
    report = recovered(journal, slow, clock, timeout_s=0.1)
    assert report.status is RecoveryStatus.REFUSED and "TimeoutError" in report.reason


def test_recovering_twice_finds_nothing_more_to_do(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    command = leg_order(BUY, "c1")
    trader.intend(command)
    trader.send(command)
    journal, venue = trader.crash_and_restart()
    first = recovered(journal, venue, clock)
    second = recovered(journal, venue, clock)
    assert first.orders and second.orders == () and second.fills_added == ()
    assert second.status is RecoveryStatus.CLEAN
    assert [a.after for a in second.attempts] == ["partially_filled"]  # still reported until hedged


def test_a_sell_side_leg_resent_after_recovery_is_not_a_duplicate(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    command = leg_order(SELL, "c2")
    trader.intend(command)
    trader.send(command)
    journal, venue = trader.crash_and_restart()
    recovered(journal, venue, clock)
    venue.on_book(btc_book("bybit", bids=((100.60, 1.0),), asks=((100.70, 1.0),), sequence=5, at=T0 + 9))
    again = asyncio.run(venue.submit(command))  # a confused retry with the same client order id
    assert again.duplicate and len([f for f in asyncio.run(venue.fills()) if f.client_order_id == "c2"]) == 1


# SIGKILL at random points: a real process sends orders through the journal and is killed -----------------

ROOT = Path(__file__).resolve().parents[2]


def sending_trader(tmp_path: str, seed: int) -> None:
    """The process under test: recover, then send orders journaled-before-send until killed."""
    import itertools

    from shared.clock import now_ns
    from trader.execution import ExecutionQueues
    from trader.execution.journaled import send

    async def main() -> None:
        journal = Journal(Path(tmp_path) / "journal.db", now_ns)
        session = journal.start_session()
        venue = paper(Path(tmp_path) / "venue.db", now_ns, latency_s=0.002)  # type: ignore[arg-type]
        report = await recover(journal, venue, now_ns)
        assert report.may_trade, report.reason
        print("ready", report.status.value, sorted(o.action.value for o in report.orders), flush=True)
        queues = ExecutionQueues(venue)
        for i in itertools.count():
            venue.on_book(btc_book(asks=((100.00, 1.0),), bids=((99.90, 1.0),), sequence=seed * 100_000 + i, at=now_ns()))
            side = Side.BUY if i % 2 == 0 else Side.SELL
            await send(journal, queues, order(f"s{session}-{i}", side=side, amount="0.1"), now_ns)

    asyncio.run(main())


def test_a_trader_killed_at_random_points_recovers_with_no_duplicate_and_no_lost_fill(tmp_path: Path) -> None:
    import random
    import signal
    import subprocess
    import sys
    import time

    rng = random.Random(7)
    for kill in range(8):
        script = f"from tests.trader.test_recovery import sending_trader; sending_trader({str(tmp_path)!r}, {kill})"
        process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert process.stdout is not None
        first = process.stdout.readline().decode()
        assert first.startswith("ready clean"), first + process.stderr.read().decode() if process.stderr else ""
        time.sleep(rng.uniform(0.02, 0.3))
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL  # it was still trading, not dead of its own error
        process.stdout.close()
        if process.stderr:
            process.stderr.close()

    clock = ManualClock()
    journal = Journal(tmp_path / "journal.db", clock)
    journal.start_session()
    venue = paper(tmp_path / "venue.db", clock, funds=())
    report = recovered(journal, venue, clock)
    assert report.status is RecoveryStatus.CLEAN, report.problems
    venue_fills = asyncio.run(venue.fills())
    assert len(venue_fills) > 8  # it did trade between the kills
    assert sorted(f.trade_id for f in journal.fills()) == sorted(f.trade_id for f in venue_fills)  # nothing lost, nothing twice
    assert journal.orders(final=False) == ()
    for journaled in journal.orders():
        at_venue = asyncio.run(venue.order(journaled.client_order_id))
        if journaled.reason.startswith(NEVER_SENT):
            assert at_venue is None
        else:
            assert at_venue is not None and (at_venue.status, at_venue.filled) == (journaled.status, journaled.filled)


# while running ------------------------------------------------------------------------------------------------


def test_a_running_check_agrees_when_everything_went_through_the_journal(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    for command in (leg_order(BUY, "c1"), order("c2", amount="0.2", price="99.00", attempt_id=None)):
        trader.intend(command)
        trader.send(command)
        trader.hear(command)
    trader.intend(order("c3", amount="0.2", price="98.00", attempt_id=None))  # on its way: not a disagreement
    result = asyncio.run(check(trader.journal, trader.venue))
    assert result.agrees, result.problems()


def test_a_running_check_reports_orders_and_balances_that_disagree(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = Trader(tmp_path, clock)
    command = order("c1", amount="0.2", price="99.00", attempt_id=None)
    trader.intend(command)
    trader.send(command)
    trader.hear(command)
    trader.send(order("outsider", amount="0.2", price="98.00"))  # rests at the venue, unknown to the journal
    asyncio.run(trader.venue.cancel(CancelOrder("c1", "binance", "main", "BTC-USDT", T0)))  # canceled behind the journal's back
    trader.send(order("taker", amount="0.1"))  # fills: moves balances the journal never saw
    result = asyncio.run(check(trader.journal, trader.venue, tolerance=D("0.01")))
    assert not result.agrees
    assert [o.client_order_id for o in result.unknown_open] == ["outsider"]
    assert [o.client_order_id for o in result.missing_open] == ["c1"]
    assert {(m.venue, m.asset) for m in result.balance_mismatches} == {("binance", "BTC"), ("binance", "USDT")}
    assert len(result.problems()) == 4
