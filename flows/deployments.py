"""The served deployments: `analyze`, `compact` and `retention` on their intervals (flows.*_interval_s),
with flows.retries retries flows.retry_delay_s apart, each given the config file's path.

Interval schedules are anchored to the epoch plus a short settle delay, so an hourly analyze runs just
after each hour closes (once the collector has flushed the hour's last rows), not at whatever minute
the server was started. One run of each deployment at a time (a run that outlasts its interval makes
the next one wait).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

from prefect import Flow
from prefect.deployments.runner import RunnerDeployment
from prefect.runner import Runner
from prefect.schedules import Interval
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.analyze import analyze
from flows.maintenance import compact_lake, retention
from shared.settings import Settings

LOG = logging.getLogger(__name__)
FLOWS: dict[str, Flow[..., Any]] = {"analyze": analyze, "compact": compact_lake, "retention": retention}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def with_retries(name: str, settings: Settings) -> Flow[..., Any]:
    """Flow `name` with the configured retries."""
    if name not in FLOWS:
        raise ValueError(f"flow: unknown {name!r} (choose from {', '.join(FLOWS)})")
    return FLOWS[name].with_options(retries=settings.flows.retries, retry_delay_seconds=settings.flows.retry_delay_s)


def intervals(settings: Settings) -> dict[str, int]:
    return {"analyze": settings.flows.analyze_interval_s, "compact": settings.flows.compact_interval_s,
            "retention": settings.flows.retention_interval_s}


def settle_s(settings: Settings, interval_s: int) -> float:
    """How long after a boundary a run starts: two collector flushes, at most a fifth of the interval."""
    return min(2 * settings.lake.flush_interval_s + 1.0, interval_s / 5)


def deployments(settings: Settings, config: str | Path) -> list[RunnerDeployment]:
    path = str(Path(config).resolve())  # flow runs may start in another directory
    built = []
    for name, interval_s in intervals(settings).items():
        anchor = EPOCH + dt.timedelta(seconds=settle_s(settings, interval_s))
        deployment = with_retries(name, settings).to_deployment(
            name=f"spreadlake-{name}",
            schedule=Interval(interval_s, anchor_date=anchor),
            parameters={"config": path},
            concurrency_limit=1,
            description=f"{FLOWS[name].description or name} Every {interval_s} s.",
            tags=["spreadlake"],
        )
        assert isinstance(deployment, RunnerDeployment)  # called outside an event loop: not a coroutine
        built.append(deployment)
    return built


class _Runner(Runner):
    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        # Prefect's own handler exits from inside the event loop (tracebacks from every task it
        # interrupts): unwind the way Ctrl-C does instead, which pauses the schedules and returns.
        raise KeyboardInterrupt


def serve_flows(settings: Settings, config: str | Path, api_url: str | None = None) -> None:
    """Serve the deployments against `api_url` (default: Prefect's configured API) until SIGINT/SIGTERM."""
    with temporary_settings(updates={PREFECT_API_URL: api_url} if api_url else {}):
        runner = _Runner(pause_on_shutdown=True)
        for deployment in deployments(settings, config):
            runner.add_deployment(deployment)
        try:
            asyncio.run(runner.start())
        except KeyboardInterrupt:
            LOG.info("stopped serving the flows")
