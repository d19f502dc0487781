"""Which addresses a fetch may reach, and a DNS lookup that gives up in time."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable

from .limits import FetchRefused


def check_address(address: str, *, allow_private: bool) -> None:
    """Refuse an IP address we must never fetch from.

    Link-local (cloud metadata services live at 169.254.169.254), multicast,
    unspecified and reserved addresses are refused always; loopback and private
    networks only when ``allow_private`` (development and tests).
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise FetchRefused(f"{address!r} is not an IP address") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast or ip.is_link_local:
        raise FetchRefused(f"address {ip} is link-local, multicast or unspecified")
    if ip.is_loopback:
        if not allow_private:
            raise FetchRefused(f"address {ip} is a loopback address")
        return
    if ip.is_reserved:
        raise FetchRefused(f"address {ip} is reserved")
    if ip.is_private or not ip.is_global:
        if not allow_private:
            raise FetchRefused(f"address {ip} is a private address")


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in resolver order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchRefused(f"cannot resolve host {host!r}: {exc}") from None
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise FetchRefused(f"host {host!r} has no address")
    return addresses


# Lookups given up on keep running in their thread until the system resolver answers; this
# bounds how many can pile up behind a resolver that never does.
MAX_PENDING_LOOKUPS = 16
_pending_lookups = threading.BoundedSemaphore(MAX_PENDING_LOOKUPS)


def resolve_within(
    resolve: Callable[[str, int], list[str]], host: str, port: int, *, timeout: float
) -> list[str]:
    """``resolve(host, port)``, or TimeoutError after ``timeout`` seconds.

    ``getaddrinfo`` cannot be interrupted and has no timeout of its own (the system
    resolver's retries can take minutes), so it runs in a daemon thread that we stop
    waiting for. A lookup given up on finishes in the background and its answer is dropped.
    """
    late = TimeoutError(f"no answer from DNS for {host!r}")
    if not _pending_lookups.acquire(timeout=timeout):
        raise late
    answer: dict[str, object] = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            answer["addresses"] = resolve(host, port)
        except BaseException as exc:  # handed over to the waiting thread, whatever it is
            answer["error"] = exc
        finally:
            _pending_lookups.release()
            done.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    if not done.wait(timeout):
        raise late
    if "error" in answer:
        raise answer["error"]  # type: ignore[misc]
    return answer["addresses"]  # type: ignore[return-value]
