"""Serving a FastAPI app inside a service's own event loop with uvicorn (the collector's REST API, the trader's API).

The service owns SIGINT/SIGTERM, because its shutdown order matters: uvicorn must not take them. The
socket is bound here, so a taken port is a plain OSError naming the address (uvicorn would exit the
process). uvicorn's log records go to the process's own handlers, which mask credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

LOG = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """One FastAPI app on (host, port); `url` is set once it listens."""

    def __init__(self, app: FastAPI, host: str, port: int, label: str, routes: str) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None, lifespan="off", access_log=False)
        self._server = _Server(config)
        self._host, self._port = host, port
        self._label, self._routes = label, routes
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise OSError(f"{self._label}: cannot listen on {self._host}:{self._port}: {exc.strerror or exc}") from None
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name=self._label)
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start
                raise OSError(f"the {self._label} stopped during start-up")
            await asyncio.sleep(0.02)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        LOG.info("%s on %s (%s)", self._label, self.url, self._routes)

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            await self._task
            self._task = None
