"""The local CA: generated once, reused while valid, trusted by clients to the exclusion of anything else."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from shared.tls import ca_path, client_ssl_context, ensure_certificates, server_ssl_context


async def _handshake(server_dir: Path, client_dir: Path, host: str) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ssl_context(server_dir))
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ssl_context(client_dir), server_hostname=host)
        assert await reader.read() == b"ok"
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()


def test_certificates_are_created_once_and_reused(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    first = {p: p.read_bytes() for p in (files.ca, files.cert, files.key)}
    again = ensure_certificates(tmp_path)
    assert again == files and {p: p.read_bytes() for p in first} == first
    assert ca_path(tmp_path) == tmp_path / "ca.pem"
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"


def test_a_broken_set_is_replaced(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    old_ca = files.ca.read_bytes()
    files.cert.write_text("garbage")
    ensure_certificates(tmp_path)
    assert files.ca.read_bytes() != old_ca
    asyncio.run(_handshake(tmp_path, tmp_path, "127.0.0.1"))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_clients_trust_the_local_ca_for_loopback_names(tmp_path: Path, host: str) -> None:
    asyncio.run(_handshake(tmp_path, tmp_path, host))


def test_clients_trust_nothing_else(tmp_path: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(_handshake(tmp_path / "one", tmp_path / "other", "127.0.0.1"))
