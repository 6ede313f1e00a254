"""The asyncio flavours: socklab.aio.serve and socklab.aio.connect on loopback."""

import asyncio

import pytest

import socklab
from socklab.errors import NetworkError


async def _echo(reader, writer):
    writer.write(await reader.read(100))
    await writer.drain()
    writer.close()


def test_serve_and_connect_over_tcp6_and_unix(unix_path):
    async def main():
        results = []
        for spec in ("tcp:[::1]:0", f"unix:{unix_path()}"):
            server = await socklab.aio.serve(spec, _echo)
            where = server.sockets[0].getsockname()
            target = f"tcp:[::1]:{where[1]}" if spec.startswith("tcp") else spec
            reader, writer = await socklab.aio.connect(target, timeout=5)
            writer.write(b"async hello")
            await writer.drain()
            results.append(await reader.read(100))
            writer.close()
            server.close()
            await server.wait_closed()
        return results

    assert asyncio.run(main()) == [b"async hello", b"async hello"]


def test_refused_is_a_network_error():
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(NetworkError, match="refused"):
        asyncio.run(socklab.aio.connect(f"tcp:127.0.0.1:{port}"))
