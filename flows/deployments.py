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
import signal
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
        # Prefect's own handler stops the runner and exits from inside the signal handler, and raising
        # there (as Ctrl-C does) can land in the middle of anything the loop was doing (a logging
        # handler's lock, a task group's exit) and leave the process hanging. The handler only
        # schedules the stop; the loop runs it as its next callback: running flow runs are cancelled,
        # the schedules paused, and `start()` returns.
        loop = asyncio_loop()
        if loop is None:  # not serving yet, or already done
            raise KeyboardInterrupt
        loop.call_soon_threadsafe(self._stop_soon, loop)

    def _stop_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.stopping:
            return
        if not self.started:  # still starting: stop once it has
            loop.call_later(0.2, self._stop_soon, loop)
            return
        LOG.info("SIGTERM: stopping the served flows")
        loop.create_task(self.astop())


def asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running on this (the main) thread, if any: a signal handler runs between two of its steps."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def serve_flows(settings: Settings, config: str | Path, api_url: str | None = None) -> None:
    """Serve the deployments against `api_url` (default: Prefect's configured API) until SIGINT/SIGTERM."""
    previous = signal.getsignal(signal.SIGTERM)  # Runner.start() installs its own
    with temporary_settings(updates={PREFECT_API_URL: api_url} if api_url else {}):
        runner = _Runner(pause_on_shutdown=True)
        for deployment in deployments(settings, config):
            runner.add_deployment(deployment)
        try:
            asyncio.run(runner.start())
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        drain_prefect_services()
        LOG.info("stopped serving the flows")


def drain_prefect_services(timeout_s: float = 5.0) -> None:
    """Send the logs and events Prefect still holds while its server runs, waiting at most `timeout_s` per kind.
    (Its own drain at interpreter exit waits without a bound, and can hang once the server is gone.)"""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=timeout_s)
