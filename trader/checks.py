"""The pre-start check: before the trader trades (and with `spreadlake trader check`), verify and report the
config, the journal, the stream, the balances and the API's address, each with its result.

A failure stops the start; a warning is reported and the trader starts. Run while a trader is running,
the journal is locked by it: the check then asks that trader's API, which answering is the journal's
(and the API's) good health, and its balances are the ones reported.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.client import ClientError, FanoutClient, Filter, Notice, NoticeKind, Received
from shared.clock import Clock, now_ns
from shared.trading import Balance, Balances
from trader.api.client import ApiError, TraderApi
from trader.config import TraderConfig
from trader.execution import PaperStore
from trader.journal import Journal, JournalError, JournalLocked, SchemaError
from trader.recovery import compare_balances, expected_balances

ZERO = Decimal(0)


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str  # config, journal, stream, balances, api
    status: CheckStatus
    detail: str

    def line(self) -> str:
        return f"{self.status.value:4} {self.name}: {self.detail}"


@dataclass(frozen=True, slots=True)
class CheckReport:
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.status is not CheckStatus.FAIL for r in self.results)

    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status is CheckStatus.FAIL)


async def pre_start(config: TraderConfig, filters: Sequence[Filter], *, timeout_s: float = 5.0, clock: Clock = now_ns,
                    ask_running: bool = False) -> CheckReport:
    """Every check in turn. `ask_running`: when the journal is held by a running trader, ask its API instead
    of failing (the standalone `spreadlake trader check`)."""
    results = [config_check(config)]
    journal, held = journal_check(config, clock)
    running: dict[str, Any] | None = None
    if held and ask_running:
        running, journal = await _ask_running(config, journal)
    results.append(journal)
    results.append(await stream_check(config, filters, timeout_s))
    results.append(balances_check(config, clock, running))
    if config.api.enabled:
        results.append(api_check(config, running))
    return CheckReport(tuple(results))


def config_check(config: TraderConfig) -> CheckResult:
    venues = sorted({venue for venue, _ in config.instruments})
    active = [i for i in config.instances if i.active]
    detail = (f"{config.mode.value} mode; {len(config.instruments)} instruments on {', '.join(venues) or 'no venue'}; "
              f"{len(config.instances)} strategy instances in the file ({len(active)} active)")
    if not config.instruments:
        return CheckResult("config", CheckStatus.FAIL, f"{detail}: nothing the trader could trade")
    if not config.instances:
        return CheckResult("config", CheckStatus.WARN, f"{detail}: no strategy runs until one is added (POST /instances)")
    return CheckResult("config", CheckStatus.OK, detail)


def journal_check(config: TraderConfig, clock: Clock) -> tuple[CheckResult, bool]:
    """The journal opens (it is created if new); returns the result and whether another process holds it."""
    path = config.journal_path
    new = not path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        journal = Journal(path, clock)
    except JournalLocked as error:
        return CheckResult("journal", CheckStatus.FAIL, f"{error}: is a trader already running on it?"), True
    except (JournalError, SchemaError, sqlite3.Error, OSError) as error:
        return CheckResult("journal", CheckStatus.FAIL, f"{path} cannot be opened: {error}"), False
    try:
        sessions = journal.sessions()
        pending = journal.orders(final=False)
        in_flight = journal.attempts(in_flight=True)
    except (sqlite3.Error, ValueError) as error:
        return CheckResult("journal", CheckStatus.FAIL, f"{path} cannot be read: {error}"), False
    finally:
        journal.close()
    if new:
        return CheckResult("journal", CheckStatus.OK, f"{path} created (new journal)"), False
    unended = sum(1 for s in sessions if s.ended_ns is None)
    detail = (f"{path}: {len(sessions)} sessions; {len(pending)} orders not final and {len(in_flight)} arbitrages in flight "
              "to reconcile at start")
    if unended:
        detail += f"; {unended} sessions never ended (a crash): recovery takes them up"
    return CheckResult("journal", CheckStatus.OK, detail), False


async def _ask_running(config: TraderConfig, journal: CheckResult) -> tuple[dict[str, Any] | None, CheckResult]:
    try:
        status = await asyncio.to_thread(TraderApi.of(config.api, timeout_s=5.0).get, "/status")
    except ApiError as error:
        return None, CheckResult("journal", CheckStatus.FAIL, f"{journal.detail}; {error}")
    detail = f"{config.journal_path} is held by the running trader (session {status.get('session_id')}, {status.get('state')})"
    return status, CheckResult("journal", CheckStatus.OK, detail)


async def stream_check(config: TraderConfig, filters: Sequence[Filter], timeout_s: float) -> CheckResult:
    """The collector answers, accepts the subscriptions and (within the time) sends events."""
    url = config.stream.url
    client = FanoutClient(url, filters, token=config.stream.token, open_timeout_s=timeout_s)
    connected: Notice | None = None
    wanted = sorted({name for f in filters for name in f.exchanges})
    venues: set[str] = set()
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s), aclosing(client.stream()) as items:
            async for item in items:
                if isinstance(item, Received):
                    venues.add(item.event.exchange)
                    if venues.issuperset(wanted) or time.monotonic() - started > timeout_s / 2:
                        break
                elif item.kind is NoticeKind.CONNECTED:
                    connected = item
                elif item.kind is NoticeKind.DISCONNECTED:
                    return CheckResult("stream", CheckStatus.FAIL, item.message)
    except ClientError as error:
        return CheckResult("stream", CheckStatus.FAIL, str(error))
    except TimeoutError:
        if connected is None:
            return CheckResult("stream", CheckStatus.FAIL, f"{url} did not answer within {timeout_s:g} s")
    protocol = f" (protocol v{client.hello.protocol})" if client.hello else ""
    silent = [v for v in wanted if v not in venues]
    detail = f"{url}{protocol} accepted {len(filters)} subscriptions"
    if silent:
        return CheckResult("stream", CheckStatus.WARN, f"{detail}; no data yet from {', '.join(silent)}")
    return CheckResult("stream", CheckStatus.OK, f"{detail}; data from {', '.join(wanted)}")


def balances_check(config: TraderConfig, clock: Clock, running: dict[str, Any] | None = None) -> CheckResult:
    """What the paper venue holds (its store, or the configured starting balances for a new one): every venue an
    active strategy instance trades must hold something; a journal that remembers other balances is a warning."""
    source, balances = _balances(config, running)
    traded = sorted({venue for instance in config.instances if instance.active for venue in instance.venues})
    empty = [venue for venue in traded if not any(b.total > 0 for (v, _), b in balances.items() if v == venue)]
    held = "; ".join(f"{venue}: " + ", ".join(f"{b.total.normalize():f} {asset}" for (v, asset), b in sorted(balances.items()) if v == venue)
                     for venue in sorted(balances.venues()))
    detail = f"{source}: {held or 'nothing'}"
    if empty:
        return CheckResult("balances", CheckStatus.FAIL, f"{detail}; nothing on {', '.join(empty)}, which active instances trade")
    if running is None and config.paper.store_path.exists() and config.journal_path.exists():
        differences = _journal_differences(config, clock, balances)
        if differences:
            return CheckResult("balances", CheckStatus.WARN, f"{detail}; the journal expects otherwise ({differences}): "
                                                             "the trader starts in safe mode until reconciled")
    return CheckResult("balances", CheckStatus.OK, detail)


def _balances(config: TraderConfig, running: dict[str, Any] | None) -> tuple[str, Balances]:
    if running is not None:
        rows = (Balance(b["venue"], b["account"], b["asset"], Decimal(b["free"]), Decimal(b["locked"])) for b in running.get("balances", ()))
        return "the running trader's paper venue", Balances(rows)
    if not config.paper.store_path.exists():
        return "new paper venue, starting balances", config.paper.balances
    store = PaperStore(config.paper.store_path)
    try:
        return f"paper venue {config.paper.store_path}", store.balances("main")
    finally:
        store.close()


def _journal_differences(config: TraderConfig, clock: Clock, balances: Balances) -> str:
    try:
        journal = Journal(config.journal_path, clock)
    except (JournalError, sqlite3.Error, OSError):
        return ""  # reported by the journal check
    try:
        if journal.latest_snapshot() is None:
            return ""  # the journal has no view of the balances yet
        mismatches = compare_balances(expected_balances(journal, "main"), balances, Decimal("1e-8"))
    finally:
        journal.close()
    return ", ".join(f"{m.venue} {m.asset} {m.journal.normalize():f}" for m in mismatches[:5])


def api_check(config: TraderConfig, running: dict[str, Any] | None) -> CheckResult:
    api = config.api
    if running is not None:
        return CheckResult("api", CheckStatus.OK, f"the running trader answers on {api.host}:{api.port}")
    family = socket.AF_INET6 if ":" in api.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((api.host, api.port))
        except OSError as error:
            return CheckResult("api", CheckStatus.FAIL, f"cannot listen on {api.host}:{api.port}: {error.strerror or error}")
    auth = "token required" if api.token else "no token (loopback)"
    return CheckResult("api", CheckStatus.OK, f"{api.host}:{api.port} is free ({auth})")
