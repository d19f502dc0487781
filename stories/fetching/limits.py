"""What a fetch takes and within which limits, and how it says no."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class FetchRefused(Exception):
    """A download we will not make or keep. The message is the reason shown to people."""


@dataclass(frozen=True)
class FetchLimits:
    """How much a fetch may take: bytes, seconds per step and in all, redirects, and where it may go."""

    max_bytes: int
    connect_timeout: float
    read_timeout: float
    total_timeout: float
    max_redirects: int
    allow_private: bool
    dns_timeout: float = 5.0
    user_agent: str = "Newsroom"


@dataclass(frozen=True)
class Wanted:
    """What the caller takes: sent as ``Accept``, and checked on the response before it is kept.

    ``check_start`` gets the first ``start_length`` bytes (all of them when the body is
    shorter) and returns why they are not what was wanted, or None.
    """

    accept: str
    content_types: frozenset[str]
    described_as: str
    start_length: int = 0
    check_start: Callable[[bytes], str | None] = field(default=lambda start: None)


def describe_error(exc: BaseException) -> str:
    return str(exc) or exc.__class__.__name__
