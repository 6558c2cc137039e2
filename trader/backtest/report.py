"""The backtest's report: trades, PnL, fees, hit rate, maximum drawdown and unhedged events, per
strategy instance and in total, read from the engine's journal and ledger once the run is over.

Everything in it but `timing` follows from the market data and the configuration alone, so two runs
over the same range give equal reports once `timing` is set aside. Amounts are `Decimal` (strings in
JSON). PnL is after fees, per profit asset, and valued in the valuation asset as the engine's ledger
values it; fees are valued at the last prices of the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

import msgspec

from shared.events import Channel, Side
from shared.trading import ArbitrageAttempt, ArbitrageState, Balance, Liquidity
from trader.engine import TradingEngine, max_drawdown, sharpe
from trader.engine.pnl import Realized

ZERO = Decimal(0)
_CENT = Decimal("0.0001")


class Trade(msgspec.Struct, frozen=True):
    """One fill, with the arbitrage and strategy instance it belongs to."""

    ts: int
    instance_id: str
    attempt_id: str
    client_order_id: str
    venue: str
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    hedge: bool  # a hedge order's fill (a leg failed after another filled)


class Unhedged(msgspec.Struct, frozen=True):
    attempt_id: str
    instance_id: str
    ts: int
    exposure: dict[str, Decimal]  # net per asset
    reason: str


class InstanceResult(msgspec.Struct, frozen=True):
    instance_id: str
    kind: str
    attempts: int  # arbitrages started (approved by the risk manager)
    traded: int  # of which anything filled
    completed: int  # filled as planned
    hedged: int  # a leg failed and the hedges closed the exposure
    unhedged: int  # ended with exposure it could not hedge (reported)
    aborted: int  # stopped before anything filled
    in_flight: int  # not final when the data ended and the shutdown grace ran out
    orders: int
    fills: int
    pnl: dict[str, Decimal]  # per profit asset, after fees
    pnl_value: Decimal  # in the valuation asset
    fees: dict[str, Decimal]  # per fee asset
    fees_value: Decimal
    hit_rate: float | None  # realized arbitrages with a positive PnL, over all realized; None without any
    max_drawdown: Decimal  # of the cumulative valued PnL, in the valuation asset


class Timing(msgspec.Struct, frozen=True):
    """Wall-clock figures of the run: the only part of the report that differs between runs."""

    wall_s: float
    events_per_s: float
    times_real_time: float | None  # recorded time covered / wall time


class BacktestReport(msgspec.Struct, frozen=True):
    first_ts: int | None  # receive time of the first and last event replayed
    last_ts: int | None
    events: dict[str, int]  # per channel
    valuation_asset: str
    instances: tuple[InstanceResult, ...]
    total: InstanceResult
    sharpe: float | None  # per arbitrage, not annualized
    unhedged_events: tuple[Unhedged, ...]
    balances: tuple[Balance, ...]  # the paper venues' balances at the end
    trades: tuple[Trade, ...]
    timing: Timing | None = None

    def without_timing(self) -> BacktestReport:
        return msgspec.structs.replace(self, timing=None)


def build_report(engine: TradingEngine, events: Mapping[Channel, int], first_ts: int | None, last_ts: int | None) -> BacktestReport:
    """The report of a finished run, from the engine's journal, ledger and exposure book."""
    journal = engine.journal
    attempts = tuple(reversed(journal.attempts()))  # oldest first
    by_id = {a.id: a for a in attempts}
    hedge_orders = {cid for a in attempts for leg in a.hedges for cid in leg.orders}
    order_attempt = {o.client_order_id: o.attempt_id or "" for o in journal.orders()}
    trades = tuple(
        Trade(f.ts_event, by_id[aid].instance_id if (aid := order_attempt.get(f.client_order_id, "")) in by_id else "", aid,
              f.client_order_id, f.venue, f.symbol, f.side, f.price, f.amount, f.fee, f.fee_asset, f.liquidity,
              f.client_order_id in hedge_orders)
        for f in journal.fills()
    )
    valuation = engine.valuation_asset
    price = _prices(engine, valuation)
    kinds = {i.id: i.kind.value for i in engine.instances()}
    ids = [*kinds, *sorted({a.instance_id for a in attempts} - set(kinds))]
    results = tuple(_result(i, kinds.get(i, ""), [a for a in attempts if a.instance_id == i], [t for t in trades if t.instance_id == i],
                            [e for e in engine.ledger.entries if e.instance_id == i], price) for i in ids)
    total = _result("total", "", attempts, trades, engine.ledger.entries, price)
    unhedged = tuple(Unhedged(r.attempt_id, r.instance_id, r.ts_event, dict(r.exposure), r.reason) for r in engine.exposure.reports())
    return BacktestReport(first_ts, last_ts, {c.value: events.get(c, 0) for c in Channel}, valuation, results, total,
                          sharpe(engine.ledger.series()), unhedged, engine.balances.as_tuple(), trades)


def _prices(engine: TradingEngine, valuation: str) -> dict[str, Decimal | None]:
    assets = {a for key in engine.instruments for a in (engine.instruments[key].base, engine.instruments[key].quote)}
    out: dict[str, Decimal | None] = {}
    for asset in sorted(assets):
        value = engine.view.price(asset, valuation)
        out[asset] = Decimal(repr(value)) if value is not None else None
    return out


def _result(instance_id: str, kind: str, attempts: Iterable[ArbitrageAttempt], trades: Iterable[Trade], realized: Iterable[Realized],
            price: Mapping[str, Decimal | None]) -> InstanceResult:
    attempts, trades, realized = list(attempts), list(trades), list(realized)
    states = [a.state for a in attempts]
    pnl: dict[str, Decimal] = {}
    for entry in realized:
        pnl[entry.asset] = pnl.get(entry.asset, ZERO) + entry.amount
    fees: dict[str, Decimal] = {}
    for trade in trades:
        fees[trade.fee_asset] = fees.get(trade.fee_asset, ZERO) + trade.fee
    valued = [e.valued for e in realized if e.valued is not None]
    fees_value = sum((amount * (price.get(asset) or ZERO) for asset, amount in fees.items()), ZERO)
    return InstanceResult(
        instance_id=instance_id, kind=kind, attempts=len(attempts), traded=sum(1 for a in attempts if a.anything_filled),
        completed=states.count(ArbitrageState.FILLED), hedged=states.count(ArbitrageState.DONE),
        unhedged=states.count(ArbitrageState.FAILED_UNHEDGED), aborted=states.count(ArbitrageState.ABORTED),
        in_flight=sum(1 for s in states if not s.is_final), orders=len({cid for a in attempts for cid in a.order_ids()}),
        fills=len(trades), pnl=dict(sorted(pnl.items())), pnl_value=sum(valued, ZERO), fees=dict(sorted(fees.items())),
        fees_value=fees_value.quantize(Decimal("1e-8")), hit_rate=sum(1 for e in realized if e.amount > 0) / len(realized) if realized else None,
        max_drawdown=max_drawdown(valued),
    )


# text -------------------------------------------------------------------------------------


def _time(ns: int | None) -> str:
    if ns is None:
        return "-"
    moment = dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}.{ns % 1_000_000_000 // 1_000_000:03d}Z"


def _row(r: InstanceResult) -> list[str]:
    hit = f"{r.hit_rate:.0%}" if r.hit_rate is not None else "-"
    return [r.instance_id, r.kind or "", str(r.attempts), str(r.traded), str(r.completed), str(r.hedged), str(r.unhedged), str(r.aborted),
            str(r.in_flight), str(r.fills), f"{r.pnl_value.quantize(_CENT)}", f"{r.fees_value.quantize(_CENT)}", hit,
            f"{r.max_drawdown.quantize(_CENT)}"]


def render(report: BacktestReport) -> str:
    """The report as text for a terminal."""
    v = report.valuation_asset
    counts = ", ".join(f"{channel} {n:,}" for channel, n in report.events.items())
    lines = [f"backtest {_time(report.first_ts)} .. {_time(report.last_ts)}: {sum(report.events.values()):,} events ({counts})"]
    if report.timing is not None:
        t = report.timing
        faster = f", {t.times_real_time:,.0f}x real time" if t.times_real_time else ""
        lines.append(f"ran in {t.wall_s:.2f} s: {t.events_per_s:,.0f} events/s{faster}")
    header = ["instance", "kind", "attempts", "traded", "filled", "hedged", "unhedged", "aborted", "in flight", "fills",
              f"PnL {v}", f"fees {v}", "hit rate", f"max DD {v}"]
    rows = [header, *(_row(r) for r in report.instances), _row(report.total)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines.append("")
    for n, row in enumerate(rows):
        if n == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
    lines.append("")
    for r in (*report.instances, report.total):
        if r.pnl:
            lines.append(f"{r.instance_id}: PnL " + ", ".join(f"{amount} {asset}" for asset, amount in r.pnl.items())
                         + "; fees " + ", ".join(f"{amount} {asset}" for asset, amount in r.fees.items()))
    lines.append(f"Sharpe (per arbitrage): {report.sharpe:.2f}" if report.sharpe is not None else "Sharpe (per arbitrage): -")
    if report.unhedged_events:
        lines.append(f"unhedged events: {len(report.unhedged_events)}")
        for u in report.unhedged_events:
            exposure = ", ".join(f"{amount} {asset}" for asset, amount in u.exposure.items()) or "none"
            lines.append(f"  {_time(u.ts)} {u.instance_id} {u.attempt_id}: {exposure} ({u.reason})")
    else:
        lines.append("unhedged events: none")
    return "\n".join(lines)
