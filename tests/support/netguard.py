"""A socket guard for client-library tests: every connection (and every name look-up) beyond
loopback is refused and recorded, so that a test fails when a library phones home — a price map
fetched from GitHub, a tracing export, a tokenizer download — even where the library swallows
the error and carries on."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_INET = (socket.AF_INET, socket.AF_INET6)


def _loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Within the block, a connection or look-up beyond loopback raises ``OSError``; yields the
    list of what was attempted (``host:port`` or a host name)."""
    attempts: list[str] = []
    connect, connect_ex, getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in _INET and not _loopback(address[0]):
            attempts.append(f"{address[0]}:{address[1]}")
            raise OSError(f"socket guard: connection to {address[0]}:{address[1]} refused")

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        return connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return connect_ex(sock, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback(host):
            attempts.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"socket guard: look-up of {host} refused")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo
    try:
        yield attempts
    finally:
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo
