"""`spreadlake trader status` and `kill` for people: the API's JSON bodies as short readable summaries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

Body = dict[str, Any]


def status_text(status: Body) -> str:
    lines = [_headline(status)]
    lines.append("  balances:" + _balances(status.get("balances", [])))
    session = status.get("pnl_by_session", {}).get(str(status.get("session_id")), {})
    lines.append(f"  realized PnL after fees: session {_money(session)}")
    for title, key in (("per venue", "pnl_by_venue"), ("per instance", "pnl_by_instance")):
        table = status.get(key, {})
        if table:
            lines.append(f"    {title}: " + ", ".join(f"{name} {_money(row)}" for name, row in sorted(table.items())))
    counts = status.get("counts", {})
    sharpe = status.get("sharpe")
    lines.append(f"  arbitrages: {counts.get('succeeded', 0)} complete or hedged, {counts.get('failed', 0)} failed unhedged, "
                 f"{counts.get('aborted', 0)} not filled; {status.get('in_flight', 0)} in flight; max drawdown "
                 f"{_num(status.get('max_drawdown', '0'))}; Sharpe {'-' if sharpe is None else f'{sharpe:.2f}'} per trade")
    positions = {k: v for k, v in status.get("positions", {}).items() if Decimal(v)}
    lines.append(f"  exposure: {_money(positions, sign=True) if positions else 'none'}")
    lines.extend(_risk(status))
    orders = status.get("open_orders", [])
    lines.append(f"  open orders: {len(orders)}")
    lines.extend(f"    {o['client_order_id']} {o['side']} {_num(o['amount'])} {o['symbol']} on {o['venue']} @ {_num(o.get('price') or '0')} "
                 f"({o['status']}, filled {_num(o.get('filled', '0'))})" for o in orders[:10])
    arbitrages = status.get("recent_arbitrages", [])
    if arbitrages:
        lines.append("  recent arbitrages:")
        lines.extend(f"    {_arbitrage(a)}" for a in arbitrages[:10])
    instances = status.get("instances", [])
    lines.append("  instances: " + (", ".join(f"{i['id']} ({i['params']['strategy']}, {i['state']})" for i in instances) or "none"))
    untradeable = [m for m in status.get("market", []) if not m["tradeable"]]
    lines.append(f"  market: {len(status.get('market', [])) - len(untradeable)} of {len(status.get('market', []))} venue/symbols tradeable")
    lines.extend(f"    {m['venue']} {m['symbol']}: {m['reason']}: {m['detail']}" for m in untradeable[:12])
    latency = status.get("tick_to_decision", {})
    if latency.get("count"):
        lines.append(f"  tick-to-decision: p50 {latency['p50_ns'] / 1000:.0f} us, p99 {latency['p99_ns'] / 1000:.0f} us "
                     f"over {latency['count']} events")
    stream = status.get("stream")
    if stream:
        lines.append(f"  stream: {stream['url']} {'connected' if stream['connected'] else 'NOT connected'}, {stream['events']} events, "
                     f"{stream['frames_missed']} frames missed" + (f"; last notice {stream['last_notice']}" if stream["last_notice"] else ""))
    return "\n".join(lines)


def kill_text(report: Body) -> str:
    lines = [f"kill switch engaged ({report['reason']}): new proposals stopped"]
    canceled = report.get("canceled", [])
    lines.append(f"  open orders canceled: {len(canceled)}")
    lines.extend(f"    {o['client_order_id']} {o['side']} {_num(o['amount'])} {o['symbol']} on {o['venue']}: {o['status']}" for o in canceled)
    flattened = report.get("flattened", [])
    if flattened:
        lines.append(f"  unwinding orders sent: {len(flattened)}")
        lines.extend(f"    {o['client_order_id']} {o['side']} {_num(o['amount'])} {o['symbol']} on {o['venue']}: {o['status']}" for o in flattened)
    lines.extend(f"  not flattened: {reason}" for reason in report.get("flatten_denied", []))
    by_venue = report.get("by_venue", {})
    if any(Decimal(v) for row in by_venue.values() for v in row.values()):
        lines.append("  exposure left per venue and asset:")
        lines.extend(f"    {venue}: {_money(row, sign=True)}" for venue, row in sorted(by_venue.items()))
    else:
        lines.append("  exposure left: none")
    return "\n".join(lines)


def _headline(status: Body) -> str:
    state = status.get("state", "?")
    reason = f" ({status['reason']})" if status.get("reason") else ""
    when = dt.datetime.fromtimestamp(status.get("ts", 0) / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"trader {state}{reason}, {status.get('mode', 'paper')} mode, session {status.get('session_id')}, at {when}"


def _risk(status: Body) -> list[str]:
    risk = status.get("risk", {})
    safe = risk.get("safe_mode", {})
    if safe.get("active"):
        causes = "; ".join(f"{cause}: {detail}" for cause, detail in safe.get("causes", {}).items()) or safe.get("last_reason", "")
        safe_text = f"ON ({causes or 'until an operator ends it'})"
    else:
        safe_text = "off" + (f" (last: {safe['last_reason']})" if safe.get("last_reason") else "")
    kill = f"ENGAGED ({risk.get('kill_reason', '')})" if risk.get("killed") else "off"
    lines = [f"  risk: breaker {risk.get('breaker', '?')}; safe mode {safe_text}; kill switch {kill}"]
    used = status.get("limits_used", [])
    if used:
        lines.append("  limits used: " + ", ".join(f"{u['limit']} {_num(u['used'], 2)}/{_num(u['maximum'], 2)}" for u in used))
    lines.extend(f"  inventory short: {s['requirement']['venue']} {s['requirement']['asset']} for {s['requirement']['instance_id']}"
                 for s in status.get("shortfalls", []))
    return lines


def _arbitrage(attempt: Body) -> str:
    legs = []
    for leg in attempt.get("legs", []):
        spec = leg["leg"]
        legs.append(f"{spec['side']} {_num(leg['filled'])}/{_num(spec['amount'])} {spec['symbol']} on {spec['venue']}")
    hedged = f", hedged {len(attempt['hedges'])}x" if attempt.get("hedges") else ""
    return f"{attempt['id']} {attempt['instance_id']} {attempt['state']}: {'; '.join(legs)}{hedged}"


def _balances(rows: list[Body]) -> str:
    by_venue: dict[str, list[str]] = {}
    for row in rows:
        total = Decimal(row["free"]) + Decimal(row.get("locked", "0"))
        by_venue.setdefault(row["venue"], []).append(f"{_num(total)} {row['asset']}")
    return "".join(f"\n    {venue}: {', '.join(assets)}" for venue, assets in sorted(by_venue.items())) or " none"


def _money(row: dict[str, str], sign: bool = True) -> str:
    return ", ".join(f"{_num(amount, 6, sign)} {asset}" for asset, amount in sorted(row.items())) or "0"


def _num(value: str | Decimal, places: int = 8, sign: bool = False) -> str:
    text = f"{Decimal(value):{'+' if sign else ''}.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
