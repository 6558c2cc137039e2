"""The `spreadlake` command. Each subcommand loads the settings file and hands over to its service."""

from __future__ import annotations

from pathlib import Path

import typer

from spreadlake.flows_cli import flows_app
from spreadlake.lake_cli import lake_app
from spreadlake.settings_file import ConfigOption, load_or_exit
from spreadlake.trader_cli import trader_app

app = typer.Typer(help="spreadlake: crypto market data collector, Parquet lake, analyses and arbitrage.",
                  no_args_is_help=True, add_completion=False)


@app.command()
def sim(config: Path = ConfigOption) -> None:
    """Run the simulated exchanges (binance, bybit, gateio, kucoin) on 127.0.0.1 until Ctrl-C."""
    from sim.runner import main as sim_main

    raise typer.Exit(sim_main(load_or_exit(config).sim))


@app.command()
def collector(
    config: Path = ConfigOption,
    print_events: bool = typer.Option(False, "--print", help="Write normalized events to stdout as JSON lines."),
    channel: list[str] = typer.Option([], "--channel", help="With --print: only this channel (ticker, trade, book, status); repeatable."),
    exchange: list[str] = typer.Option([], "--exchange", help="With --print: only this exchange; repeatable."),
    symbol: list[str] = typer.Option([], "--symbol", help="With --print: only this symbol (e.g. BTC-USDT); repeatable."),
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many seconds."),
) -> None:
    """Run the collector: cryptofeed ingest of the configured exchanges, normalized and dispatched."""
    from collector.app import main as collector_main
    from collector.printer import EventFilter

    settings = load_or_exit(config)
    bad = sorted(set(channel) - {"ticker", "trade", "book", "status"})
    if bad:
        raise typer.BadParameter(f"unknown channel {bad[0]!r} (choose from ticker, trade, book, status)", param_hint="--channel")
    event_filter = EventFilter(frozenset(channel), frozenset(exchange), frozenset(symbol)) if print_events else None
    raise typer.Exit(collector_main(settings, str(config), event_filter, duration))


@app.command()
def demo(
    config: Path = ConfigOption,
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many seconds (default: until Ctrl-C)."),
    flows: bool = typer.Option(True, "--flows/--no-flows", help="Also serve the scheduled Prefect flows on a local Prefect server."),
) -> None:
    """Start the simulated venues and the collector together and show live event rates."""
    from spreadlake.demo import main as demo_main

    raise typer.Exit(demo_main(load_or_exit(config), config, duration, flows))


@app.command()
def replay(
    captures: list[Path] = typer.Argument(..., help="Capture files (format 2, .jsonl.zst), one or more per exchange."),
    settings_out: Path | None = typer.Option(Path("data/replay.yaml"), "--settings-out",
                                             help="Write a collector config that follows this replay server here."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(0, "--port", help="0: free ports; else exchange i serves http on PORT+2i and wss on PORT+2i+1."),
    tls_dir: Path = typer.Option(Path("data/tls"), "--tls-dir", help="Where the local certificate lives."),
    speed: float | None = typer.Option(None, "--speed", help="1.0 plays at the recorded pace; default: as fast as clients read."),
    wait_for_subscribe: bool = typer.Option(True, "--wait-for-subscribe/--no-wait-for-subscribe",
                                            help="Hold each connection's playback until the client sent what was recorded."),
    close_at_end: bool = typer.Option(False, "--close-at-end", help="Close each websocket when its recording ends (default: hold it open)."),
) -> None:
    """Serve recorded exchange traffic as local venues, so the collector re-derives events through cryptofeed."""
    from sim.replay import replay_main

    raise typer.Exit(replay_main(captures, settings_out, host, port, tls_dir, speed, wait_for_subscribe,
                                 "close" if close_at_end else "hold"))


@app.command()
def tail(
    config: Path = ConfigOption,
    url: str | None = typer.Option(None, "--url", help="ws://host:port/ of a collector (default: the one the config describes)."),
    channel: list[str] = typer.Option([], "--channel", help="ticker, trade, book or status; repeatable (default: all)."),
    exchange: list[str] = typer.Option([], "--exchange", help="Repeatable (default: all)."),
    symbol: list[str] = typer.Option([], "--symbol", help="Repeatable (default: all)."),
    token: str | None = typer.Option(None, "--token", help="The server's token, when it binds beyond loopback."),
    count: int | None = typer.Option(None, "--count", help="Stop after this many events."),
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many seconds."),
) -> None:
    """Print a running collector's live stream as JSON lines; reconnects, resubscribes, reports gaps."""
    from spreadlake.tail import collector_token, collector_url
    from spreadlake.tail import tail as run_tail

    if url is None:  # the collector the config describes, with its token
        settings = load_or_exit(config)
        url, token = collector_url(settings), token or collector_token(settings)
    raise typer.Exit(run_tail(url, channel, exchange, symbol, token, count=count, duration=duration))


@app.command("replay-lake")
def replay_lake(
    config: Path = ConfigOption,
    start: str | None = typer.Option(None, "--from", help="Start of the range (ISO 8601 UTC or integer ns); default: the lake's start."),
    end: str | None = typer.Option(None, "--to", help="End of the range, exclusive; default: the lake's end."),
    speed: float | None = typer.Option(None, "--speed", help="Times real time (1 = as recorded); default: as fast as possible."),
    wait_subscribers: int = typer.Option(1, "--wait-subscribers", min=0,
                                         help="Start once this many connections have subscribed (0: start at once)."),
) -> None:
    """Re-stream a time range of the lake through the collector's WebSocket protocol."""
    from collector.lake import parse_instant
    from spreadlake.replay_lake import main as replay_lake_main

    settings = load_or_exit(config)
    try:
        start_ns = parse_instant(start) if start else None
        end_ns = parse_instant(end) if end else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--from/--to") from None
    raise typer.Exit(replay_lake_main(settings, start_ns, end_ns, speed, wait_subscribers))


app.add_typer(lake_app, name="lake")
app.add_typer(trader_app, name="trader")
app.add_typer(flows_app, name="flows")


def main() -> None:
    app()
