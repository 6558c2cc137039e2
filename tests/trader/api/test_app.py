"""The trader's API over real HTTP, against a running trader on the real fan-out server: every route, its
errors (404 unknown instance, 422 naming the field, 409), and instances added without a restart."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.trader.running import RESTING, XEX, book, quiet, running_trader

NEW = {"id": "xex-2", "kind": "cross_exchange", "venues": ["bybit", "binance"], "symbols": ["BTC-USDT"], "size": 0.2, "min_profit_bps": 5}


def fields(body: Any) -> list[tuple[str, ...]]:
    """The (location..., field) each 422 problem names."""
    return [tuple(str(part) for part in problem["loc"]) for problem in body["detail"]]


def test_status_reports_state_balances_pnl_risk_limits_market_and_stream(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path, instances=[XEX, RESTING]) as trader:
            # The order is journaled (submitted) before the paper venue accepts it: wait for the venue's answer.
            body = await trader.until(lambda b: [o["status"] for o in b["open_orders"]] == ["accepted"])
            assert (body["state"], body["mode"], body["session_id"]) == ("running", "paper", 1)
            totals = {(b["venue"], b["asset"]): Decimal(b["free"]) + Decimal(b["locked"]) for b in body["balances"]}
            assert totals == {("binance", "BTC"): 1, ("binance", "USDT"): 10000, ("bybit", "BTC"): 1, ("bybit", "USDT"): 10000}
            (order,) = body["open_orders"]
            shown = (order["venue"], order["side"], order["price"], order["amount"], order["status"])
            assert shown == ("binance", "buy", "99.70", "0.200", "accepted")  # clears 10 bps after a maker and a taker fee
            (resting,) = body["recent_arbitrages"]
            assert resting["instance_id"] == "rest" and [leg["leg"]["venue"] for leg in resting["legs"]] == ["binance", "bybit"]
            assert body["counts"] == {"succeeded": 0, "failed": 0, "aborted": 0} and body["max_drawdown"] == "0"
            assert body["pnl_by_venue"] == {} and body["pnl_by_instance"] == {} and body["pnl_by_session"] == {}
            risk = body["risk"]
            assert (risk["breaker"], risk["killed"], risk["safe_mode"]["active"]) == ("closed", False, False)
            assert risk["decisions"]["approved/ok"] >= 1
            used = {u["limit"]: (u["used"], u["maximum"]) for u in body["limits_used"]}
            assert used["open_orders"] == ("1", "20") and used["daily_loss"] == ("0", "200")
            assert set(used) >= {"venue_value.binance", "venue_value.bybit"}
            assert [(m["venue"], m["tradeable"]) for m in body["market"]] == [("binance", True), ("bybit", True)]
            assert body["stream"]["connected"] is True and body["stream"]["events"] >= 2
            assert [i["id"] for i in body["instances"]] == ["rest", "xex"]
            assert body["tick_to_decision"]["count"] >= 1 and body["unhedged"] == [] and body["shortfalls"] == []

    asyncio.run(scenario())


def test_instances_are_listed_added_paused_resumed_and_removed_and_the_added_one_trades_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path) as trader:
            assert [i["id"] for i in await trader.get("/instances")] == ["xex"]
            code, added = await trader.call("POST", "/instances", NEW)
            assert code == 201 and added["id"] == "xex-2" and added["state"] == "active"
            assert added["params"] == {"strategy": "cross_exchange", "venues": ["bybit", "binance"], "symbol": "BTC-USDT", "size": "0.2",
                                       "min_profit_bps": "5"}
            assert [i["id"] for i in await trader.get("/instances")] == ["xex", "xex-2"]
            assert (await trader.get("/instances/xex-2"))["id"] == "xex-2"

            code, paused = await trader.call("POST", "/instances/xex/pause")
            assert code == 200 and paused["state"] == "paused"
            trader.dispatcher.publish(book("binance", 101.00, 101.10))  # binance is rich now: bybit's ask 100.10 is the buy
            body = await trader.until(lambda b: b["counts"]["succeeded"] == 1)
            assert {a["instance_id"] for a in body["recent_arbitrages"]} == {"xex-2"}  # the new one traded, the paused one did not

            code, resumed = await trader.call("POST", "/instances/xex/resume")
            assert code == 200 and resumed["state"] == "active"
            code, removed = await trader.call("DELETE", "/instances/xex-2")
            assert code == 200 and removed["id"] == "xex-2"
            assert [i["id"] for i in await trader.get("/instances")] == ["xex"]
            assert (await trader.call("GET", "/instances/xex-2"))[0] == 404

    asyncio.run(scenario())


def test_an_instance_added_through_the_api_is_in_the_journal_after_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path) as trader:
            assert (await trader.call("POST", "/instances", NEW))[0] == 201
            assert (await trader.call("POST", "/instances/xex/pause"))[0] == 200
        async with running_trader(tmp_path) as trader:
            instances = {i["id"]: i["state"] for i in await trader.get("/instances")}
            assert instances == {"xex": "paused", "xex-2": "active"}  # the journal's version wins over the file's
            sessions = await trader.get("/sessions")
            assert [(s["id"], s["current"], s["end_reason"]) for s in sessions] == [(2, True, ""), (1, False, "shutdown")]
            assert sessions[1]["ended_ns"] > sessions[1]["started_ns"] and sessions[1]["totals"]["orders"] == 0

    asyncio.run(scenario())


def test_unknown_instances_are_404_and_bad_definitions_are_422_naming_the_field(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path) as trader:
            for method, path in (("GET", "/instances/nope"), ("POST", "/instances/nope/pause"), ("POST", "/instances/nope/resume"),
                                 ("DELETE", "/instances/nope")):
                code, body = await trader.call(method, path)
                assert (code, body) == (404, {"detail": "no strategy instance 'nope'"}), (method, path)

            bad: list[tuple[dict[str, Any], tuple[str, ...], str]] = [
                ({**NEW, "size": -1}, ("body", "size"), "greater than 0"),
                ({**NEW, "kind": "martingale"}, ("body", "kind"), "cross_exchange"),
                ({**NEW, "venues": ["bybit"]}, ("body", "venues"), "two or more venues"),
                ({**NEW, "venues": ["bybit", "okx"]}, ("body", "venues"), "unknown venue 'okx'"),
                ({**NEW, "symbols": ["ETH-USDT"]}, ("body", "symbols"), "not collected on 'bybit'"),
                ({**NEW, "size": 0.0001}, ("body", "size"), "under the smallest order"),
                ({**NEW, "colour": "red"}, ("body", "colour"), "Extra inputs"),
                ({k: v for k, v in NEW.items() if k != "min_profit_bps"}, ("body", "min_profit_bps"), "required"),
            ]
            for definition, field, words in bad:
                code, body = await trader.call("POST", "/instances", definition)
                assert code == 422 and fields(body)[0] == field and words in body["detail"][0]["msg"], (definition, body)
            code, body = await trader.call("POST", "/instances", {**XEX})
            assert code == 409 and "exists already" in body["detail"]
            assert [i["id"] for i in await trader.get("/instances")] == ["xex"]  # nothing bad was added

            code, body = await trader.call("POST", "/kill", {"flatten": "maybe"})
            assert code == 422 and fields(body) == [("body", "flatten")]
            assert (await trader.get("/status"))["state"] == "running"  # a refused kill engaged nothing

    asyncio.run(scenario())


def test_kill_stops_new_proposals_cancels_open_orders_and_reports_the_exposure_left(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path, instances=[XEX, RESTING]) as trader:
            body = await trader.until(lambda b: len(b["open_orders"]) == 1)
            resting = body["open_orders"][0]["client_order_id"]
            code, report = await trader.call("POST", "/kill", {"flatten": False, "reason": "test"})
            assert code == 200
            assert [(o["client_order_id"], o["status"]) for o in report["canceled"]] == [(resting, "canceled")]
            assert (report["reason"], report["exposure"], report["by_venue"], report["flattened"]) == ("test", {}, {}, [])
            events = (await trader.get("/status"))["stream"]["events"]
            trader.dispatcher.publish(book("bybit", 101.00, 101.10))  # an edge xex would take: nothing is even proposed
            body = await trader.until(lambda b: b["stream"]["events"] > events)
            assert (body["state"], body["reason"], body["risk"]["killed"], body["open_orders"]) == ("killed", "test", True, [])
            assert body["risk"]["decisions"] == {"approved/ok": 1} and body["counts"]["succeeded"] == 0
            assert "spreadlake_trader_proposals_total 1.0" in (await trader.call("GET", "/metrics"))[1]
            code, again = await trader.call("POST", "/kill")  # no body: flatten false
            assert code == 200 and again["canceled"] == []
        assert any(line.startswith("KILL SWITCH (test): new proposals stopped, 1 open orders canceled") for line in trader.reports)

    asyncio.run(scenario())


def test_an_operator_ends_safe_mode(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path, market_view={"max_book_age_ms": 200},
                                  risk={"safe_mode": {"stale_after_s": 0.1, "auto_exit": False}}) as trader:
            await trader.until(lambda b: b["state"] == "safe_mode")
            quiet(trader.dispatcher)  # fresh books: the cause clears, but without auto_exit safe mode stays
            await asyncio.sleep(0.3)
            code, body = await trader.call("POST", "/safe-mode/exit")
            assert code == 200 and body["was_active"] is True and body["safe_mode"]["active"] is False
            code, body = await trader.call("POST", "/safe-mode/exit")
            assert code == 200 and body["was_active"] is False

    asyncio.run(scenario())


def test_metrics_export_proposals_decisions_orders_fills_pnl_exposure_and_latency(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path, instances=[XEX, RESTING]) as trader:
            await trader.until(lambda b: len(b["open_orders"]) == 1)
            code, text = await trader.call("GET", "/metrics")
            assert code == 200
            for line in ('spreadlake_trader_proposals_total 1.0', 'spreadlake_trader_decisions_total{reason="ok",verdict="approved"} 1.0',
                         'spreadlake_trader_orders{state="accepted"} 1.0', "spreadlake_trader_fills_total 0.0",
                         "spreadlake_trader_open_orders 1.0", 'spreadlake_trader_balance{asset="USDT",venue="bybit"} 10000.0',
                         'spreadlake_trader_arbitrages_total{result="succeeded"} 0.0', "spreadlake_trader_safe_mode 0.0",
                         'spreadlake_trader_breaker{state="closed"} 1.0', 'spreadlake_trader_state{state="running"} 1.0',
                         'spreadlake_trader_tradeable{symbol="BTC-USDT",venue="binance"} 1.0', "spreadlake_trader_stream_connected 1.0"):
                assert line in text.splitlines(), line
            for name in ("spreadlake_trader_tick_to_decision_seconds_bucket{le=", "spreadlake_trader_tick_to_decision_seconds_count",
                         "# TYPE spreadlake_trader_realized_pnl_venue gauge", "# TYPE spreadlake_trader_exposure gauge",
                         "spreadlake_trader_stream_events_total"):
                assert name in text, name

    asyncio.run(scenario())


def test_openapi_documents_every_route_with_its_body_schemas(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_trader(tmp_path) as trader:
            spec = await trader.get("/openapi.json")
            routes = {(path, method) for path, methods in spec["paths"].items() for method in methods}
            assert routes == {("/status", "get"), ("/sessions", "get"), ("/instances", "get"), ("/instances", "post"),
                              ("/instances/{instance_id}", "get"), ("/instances/{instance_id}", "delete"),
                              ("/instances/{instance_id}/pause", "post"), ("/instances/{instance_id}/resume", "post"),
                              ("/kill", "post"), ("/safe-mode/exit", "post"), ("/metrics", "get")}
            status = spec["paths"]["/status"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            assert status == {"$ref": "#/components/schemas/StatusBody"}
            schemas = spec["components"]["schemas"]
            assert {"StatusBody", "KillReport", "SessionBody", "StrategyInstance", "InstanceSettings", "KillRequest", "Order"} <= set(schemas)
            assert {"limits_used", "market", "pnl_by_venue", "risk", "recent_arbitrages"} <= set(schemas["StatusBody"]["properties"])
            assert "404" in spec["paths"]["/instances/{instance_id}/pause"]["post"]["responses"]
            assert "422" in spec["paths"]["/instances"]["post"]["responses"]

    asyncio.run(scenario())
