"""Fetching a URL from a server we do not trust, without letting it reach inside our network.

Whoever fetches says what it takes (``Wanted``: the content types and a check of the
first bytes) and within which limits (``FetchLimits``); this module knows nothing else
about what it fetches. Every refusal raises ``FetchRefused`` with a reason for people.

* only http and https; credentials in URLs refused;
* the host is resolved once (with its own time limit), every address is checked (no
  private, loopback, link-local, multicast or reserved addresses unless the limits
  allow private ones) and the connection goes to the address that was checked, so a
  second DNS answer cannot swap in another one;
* redirects are followed by hand, at most ``max_redirects``, each hop checked again;
* connect, read and whole-download time limits, and a byte limit enforced while
  streaming, whatever Content-Length says;
* only the content types the caller takes, no content encoding.

How the fetch reaches the network (resolver, sockets, TLS trust) is a ``Network``, so
tests can route it without patching these modules.
"""

from __future__ import annotations

from .addresses import check_address, resolve_host
from .connections import Network
from .download import fetch
from .limits import FetchLimits, FetchRefused, Wanted, describe_error

__all__ = [
    "FetchLimits",
    "FetchRefused",
    "Network",
    "Wanted",
    "check_address",
    "describe_error",
    "fetch",
    "resolve_host",
]
