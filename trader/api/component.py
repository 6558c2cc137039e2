"""Serving the trader's API inside the trader's event loop with uvicorn (the collector's approach).

Bound anywhere but loopback it needs `trader.api.token`: the settings refuse to validate without one,
and the component refuses to start without one (shared/auth.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from prometheus_client.registry import CollectorRegistry
from pydantic import SecretStr

from shared.auth import refuse_exposed_without_token
from trader.api.app import Control, create_app
from trader.config import ApiConfig

LOG = logging.getLogger("trader.api")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The trader owns SIGINT/SIGTERM (its shutdown order matters); uvicorn must not take them.
        yield


class ApiComponent:
    name = "api"

    def __init__(self, api: ApiConfig, control: Control, registry: CollectorRegistry) -> None:
        refuse_exposed_without_token("trader.api", api.host, SecretStr(api.token) if api.token else None)
        app = create_app(control, registry, api.token)
        # log_config=None: uvicorn's records go to the process's own handlers, which mask credentials.
        config = uvicorn.Config(app, host=api.host, port=api.port, log_level="warning", log_config=None, lifespan="off",
                                access_log=False)
        self._server = _Server(config)
        self._host, self._port = api.host, api.port
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    async def start(self) -> None:
        # Bound here, so a taken port is a plain OSError naming the address (uvicorn would exit the process).
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise OSError(f"trader API: cannot listen on {self._host}:{self._port}: {exc.strerror or exc}") from None
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="trader-api")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise OSError("the trader API stopped during start-up")
            await asyncio.sleep(0.02)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        LOG.info("trader API on %s (/status, /instances, /kill, /metrics; /docs)", self.url)

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            await self._task
            self._task = None
