"""`spreadlake flows ...`: serve the scheduled Prefect flows, or run one of them now (docs/analyzer.md).

Prefect is imported only inside the commands, after the environment points it at the right API: it
reads its settings from the environment when first imported, and the other commands need none of it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import typer

from analyzer.runner import check_names
from shared.lake import parse_instant
from shared.settings import Settings
from spreadlake.settings_file import ConfigOption, load_or_exit

flows_app = typer.Typer(help="Prefect flows: analyze, compact and retention on schedules, or one run now.", no_args_is_help=True)

FLOW_NAMES = ("analyze", "compact", "retention")


def _point_prefect_at(api_url: str | None, settings: Settings) -> None:
    from flows.server import prefect_environment

    env = prefect_environment(api_url or "", settings.flows.prefect_home)
    if api_url is None:
        del env["PREFECT_API_URL"]  # no server: Prefect runs the flow on its own temporary one
        os.environ.pop("PREFECT_API_URL", None)
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.update(env)  # for Prefect when it is imported, and for the flow run processes it starts


@flows_app.command("serve")
def serve(config: Path = ConfigOption) -> None:
    """Serve analyze, compact and retention on their schedules (flows.*_interval_s) until Ctrl-C.

    Uses flows.prefect_api_url, else a Prefect server on flows.server_host:server_port, starting one
    there when none answers (schedules do not fire on Prefect's temporary server)."""
    from flows.server import prefect_server

    settings = load_or_exit(config)
    # SIGTERM (docker stop, the demo) unwinds like Ctrl-C, so a server started here is stopped with us.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with prefect_server(settings.flows, os.environ, log=sys.stdout) as server:
        _point_prefect_at(server.api_url, settings)
        from flows.deployments import intervals, serve_flows

        every = ", ".join(f"{name} every {seconds} s" for name, seconds in intervals(settings).items())
        print(f"Prefect UI: {server.ui_url}", flush=True)
        print(f"serving {every} (config {config}); Ctrl-C stops", flush=True)
        serve_flows(settings, config, server.api_url)
    # Prefect's services drain again at interpreter exit, without a bound, and one waiting on the server
    # just stopped can hang forever (seen in CI, and in 5 stops of 9 under load). serve_flows has drained them while the
    # server ran; nothing is left to do at exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@flows_app.command("run")
def run(
    name: str = typer.Argument(..., help="analyze, compact or retention."),
    config: Path = ConfigOption,
    start: str | None = typer.Option(None, "--from",
                                     help="analyze: start of the range (ISO 8601 UTC or integer ns); default: the last closed chunk(s)."),
    end: str | None = typer.Option(None, "--to", help="analyze: end of the range, exclusive."),
    analysis: list[str] = typer.Option([], "--analysis", help="analyze: only this analysis; repeatable (default: all)."),
) -> None:
    """Run one flow now, recorded on the Prefect server when one is configured or running (else on a temporary one)."""
    if name not in FLOW_NAMES:
        raise typer.BadParameter(f"unknown flow {name!r} (choose from {', '.join(FLOW_NAMES)})", param_hint="NAME")
    parameters: dict[str, object] = {}
    if name == "analyze":
        parameters.update(_range(start, end))
        try:
            names = check_names(analysis)
        except ValueError as exc:
            raise typer.BadParameter(str(exc).removeprefix("analysis: "), param_hint="--analysis") from None
        if analysis:
            parameters["analyses"] = list(names)
    elif start or end or analysis:
        raise typer.BadParameter(f"--from, --to and --analysis are for analyze, not {name}", param_hint="--from/--to/--analysis")
    settings = load_or_exit(config)

    from flows.server import healthy, local_api_url

    api_url = str(settings.flows.prefect_api_url).rstrip("/") if settings.flows.prefect_api_url else None
    if api_url is None and healthy(local_api_url(settings.flows)):
        api_url = local_api_url(settings.flows)
    _point_prefect_at(api_url, settings)
    from flows.deployments import with_retries

    flow = with_retries(name, settings)
    try:
        result = flow(config=str(config.resolve()), **parameters)
    except Exception as exc:
        print(f"spreadlake: flow {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    print(f"{name}: {json.dumps(result)}", flush=True)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _range(start: str | None, end: str | None) -> dict[str, str]:
    if start is None and end is None:
        return {}
    if start is None or end is None:
        raise typer.BadParameter("give both --from and --to, or neither for the last closed chunk(s)", param_hint="--from/--to")
    try:
        start_ns, end_ns = parse_instant(start), parse_instant(end)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--from/--to") from None
    if end_ns <= start_ns:
        raise typer.BadParameter(f"--to {end} is not after --from {start}", param_hint="--from/--to")
    return {"start": str(start_ns), "end": str(end_ns)}
