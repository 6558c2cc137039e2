"""`spreadlake trader ...`: run the trader, and operate a running one through its API.

    spreadlake trader --config FILE            # run: paper trading on the collector's stream until Ctrl-C
    spreadlake trader check --config FILE      # the pre-start check alone; exit 1 on a failure
    spreadlake trader status [--json]          # a running trader's status
    spreadlake trader kill [--flatten]         # its kill switch

Subcommands read the API's address and token from the same settings file (`trader.api`). A subcommand's
own `--config` wins; otherwise the one given before it (`spreadlake trader --config FILE status`) is used.
More subcommands (`backtest`) add themselves to `trader_app` the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import typer

from shared.redact import Redactor, redact_logs
from shared.settings import Settings
from shared.settings.secrets import secret_values
from spreadlake.settings_file import DEFAULT_CONFIG, load_or_exit

trader_app = typer.Typer(help="Arbitrage on the collector's stream, paper by default (docs/trader.md). Without a subcommand: run it.",
                         invoke_without_command=True)

SubConfigOption = typer.Option(None, "--config", "-c", help="YAML settings file (default: the trader's --config, else config/demo.yaml).",
                               envvar="SPREADLAKE_CONFIG")


@trader_app.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c", help="YAML settings file (see docs/configuration.md).",
                                envvar="SPREADLAKE_CONFIG"),
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many seconds (default: until SIGINT/SIGTERM)."),
) -> None:
    """Run the trader: pre-start check, recovery, then paper trading on the collector's stream until SIGINT/SIGTERM."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = config
        return
    from trader.service import TraderService, run_until_stopped

    settings = load_or_exit(config)
    redact = log_to_stderr(settings)
    try:
        code = asyncio.run(run_until_stopped(TraderService(settings), duration))
    except OSError as exc:
        print(redact(f"spreadlake trader: {exc}"), file=sys.stderr)
        code = 1
    raise typer.Exit(code)


@trader_app.command()
def check(ctx: typer.Context, config: Path | None = SubConfigOption,
          timeout: float = typer.Option(5.0, "--timeout", help="Seconds to wait for the stream.")) -> None:
    """Verify config, journal, stream, balances and the API address, and report each; exit 1 if any fails."""
    from trader.checks import pre_start
    from trader.config import trader_config
    from trader.feed import subscriptions

    settings = _settings(ctx, config)
    trader = trader_config(settings)
    report = asyncio.run(pre_start(trader, subscriptions(settings, trader), timeout_s=timeout, ask_running=True))
    for result in report.results:
        print(result.line())
    if not report.ok:
        print(f"spreadlake trader check: {len(report.failures())} failed", file=sys.stderr)
    raise typer.Exit(0 if report.ok else 1)


@trader_app.command()
def status(ctx: typer.Context, config: Path | None = SubConfigOption,
           raw: bool = typer.Option(False, "--json", help="The API's JSON as it is.")) -> None:
    """A running trader's state, balances, PnL, risk, open orders and recent arbitrages."""
    from spreadlake.trader_status import status_text

    body = _call(ctx, config, "get", "/status")
    print(json.dumps(body, indent=2) if raw else status_text(body))


@trader_app.command()
def kill(ctx: typer.Context, config: Path | None = SubConfigOption,
         flatten: bool = typer.Option(False, "--flatten", help="Also unwind the remaining exposure with market orders (under the risk limits)."),
         reason: str = typer.Option("operator (command line)", "--reason", help="Recorded in the journal."),
         raw: bool = typer.Option(False, "--json", help="The kill report as JSON.")) -> None:
    """Engage a running trader's kill switch: no new proposals, open orders canceled, exposure reported."""
    from spreadlake.trader_status import kill_text

    body = _call(ctx, config, "post", "/kill", {"flatten": flatten, "reason": reason})
    print(json.dumps(body, indent=2) if raw else kill_text(body))


@trader_app.command()
def backtest(ctx: typer.Context, config: Path | None = SubConfigOption,
             start: str | None = typer.Option(None, "--from", help="Start of the range (ISO 8601 UTC or integer ns); default: the lake's start."),
             end: str | None = typer.Option(None, "--to", help="End of the range, exclusive; default: the lake's end."),
             raw: bool = typer.Option(False, "--json", help="The report as JSON, every trade included."),
             workdir: Path | None = typer.Option(None, "--workdir", help="The run's throwaway journal and paper store as temporary files "
                                                 "under DIR, for a run whose journal would not fit in memory (default: in memory)."),
             verbose: bool = typer.Option(False, "--verbose", help="Log every risk decision.")) -> None:
    """Run the strategies, risk manager and paper executor over a range of the lake, as fast as possible, and report."""
    from shared.lake.events import parse_instant
    from trader.backtest.app import main as backtest_main

    settings = _settings(ctx, config)
    try:
        start_ns, end_ns = (parse_instant(start) if start else None), (parse_instant(end) if end else None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--from/--to") from None
    raise typer.Exit(backtest_main(settings, start_ns, end_ns, as_json=raw, workdir=workdir, verbose=verbose))


def _settings(ctx: typer.Context, config: Path | None) -> Settings:
    return load_or_exit(config or (ctx.obj if isinstance(ctx.obj, Path) else DEFAULT_CONFIG))


def _call(ctx: typer.Context, config: Path | None, method: str, path: str, body: dict[str, object] | None = None) -> Any:
    from trader.api.client import ApiError, TraderApi
    from trader.config import trader_config

    settings = _settings(ctx, config)
    api = TraderApi.of(trader_config(settings).api)
    try:
        return api.post(path, body) if method == "post" else api.get(path)
    except ApiError as exc:
        print(f"spreadlake trader: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None


def log_to_stderr(settings: Settings, level: int = logging.INFO) -> Redactor:
    """Log lines on stderr with credentials masked, whichever library writes them (the risk manager's line per
    decision comes thinned: trader/risk/decision_log.py)."""
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redactor = Redactor(secret_values(settings))
    redact_logs(logging.getLogger().handlers, redactor)
    return redactor
