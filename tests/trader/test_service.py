"""The trader service against the real fan-out server fed by a Dispatcher: what status events, stale books and
reconnects do to tradability and safe mode, arbitrages taken and reported, periodic reconciliation, and the
refusals to start (a failed pre-start check, a recovery that cannot complete)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

from shared.client import Notice, NoticeKind
from shared.events import StatusKind
from shared.settings import settings_from_mapping
from shared.trading import Balance, OrderType, Side, SubmitOrder, TimeInForce
from tests.ports import free_port
from tests.trader.running import RESTING, book, market_state, port_of, quiet, running_trader, start_fanout, status, trader_mapping
from trader.execution import PaperStore
from trader.journal import Journal
from trader.service import TraderService


def tradeable(venue: str) -> object:
    return lambda body: market_state(body, venue)["tradeable"]


def reason(venue: str, expected: str) -> object:
    return lambda body: market_state(body, venue)["reason"] == expected


def test_a_feed_reported_disconnected_is_untradeable_until_connected_and_a_fresh_book(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path) as trader:
            await trader.until(tradeable("bybit"))
            trader.dispatcher.publish(status("bybit", StatusKind.DISCONNECTED))
            body = await trader.until(reason("bybit", "feed_down"))
            assert "disconnected" in market_state(body, "bybit")["detail"] and market_state(body, "binance")["tradeable"]
            trader.dispatcher.publish(status("bybit", StatusKind.CONNECTED))
            await trader.until(reason("bybit", "awaiting_data"))
            trader.dispatcher.publish(book("bybit", 100.00, 100.10))
            await trader.until(tradeable("bybit"))

    asyncio.run(scenario())


def test_a_gap_on_one_symbol_is_untradeable_until_resync_and_a_fresh_book(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path) as trader:
            await trader.until(tradeable("binance"))
            trader.dispatcher.publish(status("binance", StatusKind.GAP, "BTC-USDT"))
            body = await trader.until(reason("binance", "feed_down"))
            assert "gap" in market_state(body, "binance")["detail"]
            trader.dispatcher.publish(status("binance", StatusKind.RESYNC, "BTC-USDT"))
            await trader.until(reason("binance", "awaiting_data"))
            trader.dispatcher.publish(book("binance", 99.90, 100.10))
            await trader.until(tradeable("binance"))

    asyncio.run(scenario())


def test_stale_books_enter_safe_mode_and_fresh_books_end_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path, market_view={"max_book_age_ms": 300},
                                  risk={"safe_mode": {"stale_after_s": 0.3}}) as trader:
            body = await trader.until(lambda b: b["state"] == "safe_mode")
            assert market_state(body, "binance")["reason"] == "stale"
            assert "stale_data" in body["risk"]["safe_mode"]["causes"]

            async def keep_fresh() -> None:
                while True:
                    quiet(trader.dispatcher)
                    await asyncio.sleep(0.05)

            fresh = asyncio.create_task(keep_fresh())
            try:
                body = await trader.until(lambda b: b["state"] == "running")
                assert body["risk"]["safe_mode"]["active"] is False and "stale_data" in body["risk"]["safe_mode"]["last_reason"]
            finally:
                fresh.cancel()
        assert any(line.startswith("safe mode entered: stale_data") for line in trader.reports)
        assert any(line.startswith("safe mode left") for line in trader.reports)
        journal = Journal(tmp_path / "journal.sqlite", time.time_ns)
        try:
            assert [e.reason for e in journal.risk_events(kind="safe_mode")][:2] == ["entered", "left"]
        finally:
            journal.close()

    asyncio.run(scenario())


def test_after_the_collector_restarts_every_venue_waits_for_a_book_sent_after_the_reconnect(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path) as trader:
            await trader.until(lambda b: all(m["tradeable"] for m in b["market"]))
            port = port_of(trader.fanout)
            await trader.fanout.stop()
            trader.fanout, trader.dispatcher = await start_fanout(port)  # a new collector: nothing to snapshot yet
            body = await trader.until(lambda b: b["stream"]["notices"].get("reconnected") == 1)
            assert {m["reason"] for m in body["market"]} == {"awaiting_data"}
            assert body["stream"]["connected"] is True and body["stream"]["notices"]["disconnected"] >= 1
            quiet(trader.dispatcher)
            await trader.until(lambda b: all(m["tradeable"] for m in b["market"]))

    asyncio.run(scenario())


def test_frames_lost_on_the_traders_own_connection_make_every_book_wait_for_a_fresh_one(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path) as trader:
            await trader.until(lambda b: all(m["tradeable"] for m in b["market"]))
            assert trader.service.feed is not None
            trader.service.feed.notice(Notice(NoticeKind.GAP, "frame 9 after 7: 1 frame(s) missing", 1))  # what the client reports
            body = await trader.until(lambda b: all(m["reason"] == "awaiting_data" for m in b["market"]))
            assert body["stream"]["notices"]["gap"] == 1
            quiet(trader.dispatcher)
            await trader.until(lambda b: all(m["tradeable"] for m in b["market"]))

    asyncio.run(scenario())


def test_a_dislocation_is_taken_and_reported_in_a_line_and_in_the_status(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path, summary_interval_s=0.2, instances=[{
                "id": "xex", "kind": "cross_exchange", "venues": ["binance", "bybit"], "symbols": ["BTC-USDT"], "size": 0.5,
                "min_profit_bps": 10}]) as trader:
            await trader.until(lambda b: all(m["tradeable"] for m in b["market"]))
            trader.dispatcher.publish(book("binance", 99.90, 100.00))
            trader.dispatcher.publish(book("bybit", 101.00, 101.10))  # 100 bps above binance's ask
            body = await trader.until(lambda b: b["counts"]["succeeded"] == 1)
            (attempt,) = [a for a in body["recent_arbitrages"] if a["state"] == "filled"]
            legs = [(leg["leg"]["venue"], leg["leg"]["side"], leg["filled"], leg["fills"][0]["price"]) for leg in attempt["legs"]]
            # The sell is what the buy yields after its fee (taken in BTC), on the lot: 0.5 x 0.999 -> 0.499.
            assert legs == [("binance", "buy", "0.500", "100.0"), ("bybit", "sell", "0.499", "101.0")]
            # Bought 0.5 at 100, sold 0.499 at 101 less 10 bps, the 0.0005 BTC left marked at 101: 0.399101 USDT.
            assert body["pnl_by_instance"] == {"xex": {"USDT": "0.3991010"}} and set(body["pnl_by_venue"]) == {"binance", "bybit"}
            assert body["positions"] == {} and body["open_orders"] == [] and body["sharpe"] is None
            await asyncio.sleep(0.3)
        trades = [line for line in trader.reports if line.startswith("trade ")]
        assert trades == [f"trade {attempt['id']} xex (cross_exchange) filled: buy 0.5 BTC-USDT on binance @ 100; sell 0.499 BTC-USDT on "
                          "bybit @ 101 | pnl +0.399101 USDT after fees | session pnl +0.399101 USDT"]
        assert any(line.startswith("pnl: session +0.399101 USDT after fees | 1 arbitrage taken (1 complete") for line in trader.reports)

    asyncio.run(scenario())


def test_a_hedge_whose_limit_the_market_has_passed_is_sent_again_at_market(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path, instances=[RESTING], paper={"latency_ms": 200}) as trader:
            await trader.until(lambda b: [o["status"] for o in b["open_orders"]] == ["accepted"])  # a bid rests on binance at 99.70
            trader.dispatcher.publish(book("binance", 99.50, 99.60))  # crosses it: filled, and hedged on bybit at its 100.00 bid...
            await asyncio.sleep(0.05)
            trader.dispatcher.publish(book("bybit", 99.00, 99.10))  # ...which is gone when the hedge arrives
            body = await trader.until(lambda b: b["counts"]["succeeded"] + b["counts"]["failed"] == 1)
            (attempt,) = [a for a in body["recent_arbitrages"] if a["state"] in ("done", "failed_unhedged")]
            assert attempt["state"] == "done" and body["positions"] == {}
            (hedge,) = attempt["hedges"]
            assert (hedge["leg"]["type"], hedge["leg"]["price"], hedge["status"]) == ("limit", "100.00", "filled")
            assert len(hedge["orders"]) == 2 and [f["price"] for f in hedge["fills"]] == ["99.0"]  # the second went at market

    asyncio.run(scenario())


def test_a_balance_changed_behind_the_traders_back_enters_safe_mode_at_the_next_reconciliation(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path, reconcile_interval_s=0.2) as trader:
            await trader.until(lambda b: b["state"] == "running")
            store = PaperStore(tmp_path / "paper.sqlite")  # the venue's own record, as another client of the venue
            try:
                store.commit(balances=[Balance("bybit", "main", "USDT", 12345)])
            finally:
                store.close()
            body = await trader.until(lambda b: b["state"] == "safe_mode")
            cause = body["risk"]["safe_mode"]["causes"]["reconciliation_mismatch"]
            assert "balance bybit USDT: journal 10000" in cause and "executor 12345" in cause

    asyncio.run(scenario())


def test_a_stream_that_does_not_answer_fails_the_pre_start_check_and_nothing_starts(tmp_path: Path) -> None:
    settings = settings_from_mapping(trader_mapping(tmp_path, free_port()))
    reports: list[str] = []
    service = TraderService(settings, report=reports.append, check_timeout_s=1.0)
    assert asyncio.run(service.run(asyncio.Event())) == 1
    assert service.engine is None
    lines = "\n".join(reports)
    assert "check FAIL stream: cannot connect to ws://127.0.0.1:" in lines
    for check in ("config", "journal", "balances", "api"):
        assert f"check ok   {check}: " in lines
    assert reports[-1].startswith("trader not started: stream: cannot connect")


def test_a_paper_venue_whose_record_cannot_be_read_makes_the_trader_refuse_to_trade(tmp_path: Path) -> None:
    # A crash left an order journaled; the venue's record of it is unreadable: recovery cannot reconcile.
    journal = Journal(tmp_path / "journal.sqlite", time.time_ns)
    journal.start_session()
    order = SubmitOrder("s1-a1-o1", "binance", "main", "BTC-USDT", Side.BUY, OrderType.LIMIT, Decimal("0.2"), Decimal("99.80"),
                        TimeInForce.GTC, time.time_ns()).to_order()
    journal.record_intent(order)
    journal.close()
    store = PaperStore(tmp_path / "paper.sqlite")
    store.seed([Balance(venue, "main", asset, Decimal(amount)) for venue in ("binance", "bybit") for asset, amount in (("USDT", 10000), ("BTC", 1))])
    store.close()
    with sqlite3.connect(tmp_path / "paper.sqlite") as db:
        db.execute("INSERT INTO orders (client_order_id, venue, account, is_open, body) VALUES ('s1-a1-o1', 'binance', 'main', 0, 'garbled')")

    async def scenario() -> tuple[int, list[str]]:
        fanout, dispatcher = await start_fanout()
        try:
            quiet(dispatcher)
            reports: list[str] = []
            service = TraderService(settings_from_mapping(trader_mapping(tmp_path, port_of(fanout))), report=reports.append)
            return await service.run(asyncio.Event()), reports
        finally:
            await fanout.stop()

    code, reports = asyncio.run(scenario())
    assert code == 1
    assert reports[-1].startswith("trader refuses to trade: executor could not be reconciled")
    journal = Journal(tmp_path / "journal.sqlite", time.time_ns)
    try:
        assert journal.sessions()[-1].end_reason.startswith("refused: executor could not be reconciled")
        order = journal.order("s1-a1-o1")
        assert order is not None and order.status.value == "initialized"  # nothing written but the refusal
    finally:
        journal.close()
