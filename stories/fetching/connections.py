"""Connections pinned to a checked address, every blocking step bounded by one deadline."""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from .addresses import resolve_host
from .limits import FetchLimits


@dataclass(frozen=True)
class Network:
    """How a fetch reaches servers: the resolver, the socket to a checked address, the TLS trust.

    By default the system's resolver, a plain TCP connection, and certificates verified
    against the system's trust store with host names checked.
    """

    resolve: Callable[[str, int], list[str]] = resolve_host
    connect: Callable[[tuple[str, int], float], socket.socket] = socket.create_connection
    tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context


class Deadline:
    """The total time allowed for one download, across DNS, connect, TLS, headers and body.

    Every blocking step gets ``timeout(limit)``: its own limit, or what is left of the
    total when that is shorter. A socket timeout restarts with each byte received, so
    a server trickling one byte at a time would otherwise never time out.
    """

    def __init__(self, total: float) -> None:
        self.total = total
        self.at = time.monotonic() + total

    @property
    def message(self) -> str:
        return f"download took longer than {self.total:g}s"

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def timeout(self, limit: float) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(self.message)
        return min(limit, left)


class _DeadlineSocket:
    """What ``http.client`` sees of the socket: sending and reading, each bounded by the deadline.

    Like ``socket.makefile``, the socket stays open until its reader is closed too:
    ``http.client`` closes the connection as soon as it hands an HTTP/1.0 response over.
    """

    def __init__(self, sock: socket.socket, deadline: Deadline, read_timeout: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._read_timeout = read_timeout
        self._readers = 0
        self._closing = False

    def sendall(self, data: bytes) -> None:
        # Since Python 3.5 a sendall timeout bounds the whole call, not each send.
        self._sock.settimeout(self._deadline.timeout(self._read_timeout))
        self._sock.sendall(data)

    def recv_into(self, buffer) -> int:
        self._sock.settimeout(self._deadline.timeout(self._read_timeout))
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str = "rb", *args, **kwargs) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError(f"unsupported mode {mode!r}")
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closing and not self._readers:
            self._sock.close()

    def close(self) -> None:
        self._closing = True
        if not self._readers:
            self._sock.close()


class _DeadlineReader(io.RawIOBase):
    """The raw stream under a response: every receive gets the deadline's timeout."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        super().__init__()
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._owner.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.reader_closed()
        super().close()


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address we checked, whatever the host name resolves to now."""

    def __init__(
        self, host: str, port: int, *, address: str, limits: FetchLimits, deadline: Deadline, network: Network
    ):
        super().__init__(host, port, timeout=limits.connect_timeout)
        self._address = address
        self._read_timeout = limits.read_timeout
        self._deadline = deadline
        self._network = network

    def _open_socket(self) -> socket.socket:
        return self._network.connect((self._address, self.port), self._deadline.timeout(self.timeout))

    def connect(self) -> None:
        self.sock = _DeadlineSocket(self._open_socket(), self._deadline, self._read_timeout)


class PinnedHTTPSConnection(PinnedHTTPConnection):
    default_port = 443

    def connect(self) -> None:
        # The certificate is checked against the host name, the socket goes to the checked address.
        raw = self._open_socket()
        try:
            # OpenSSL treats a socket timeout as a deadline for the whole handshake.
            raw.settimeout(self._deadline.timeout(self.timeout))
            sock = self._network.tls_context().wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise
        self.sock = _DeadlineSocket(sock, self._deadline, self._read_timeout)
