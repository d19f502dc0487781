"""What readers can see, as one row: the counter every reader validator and cache key comes from.

The workflow moves it once per committed change a reader can see (``stories.reader.version``);
the clock moves it when the next scheduled go-live or expiry of a published story passes.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone


def new_token() -> str:
    return secrets.token_hex(8)


class ReaderVersion(models.Model):
    """The one row (``ROW``). ``counter`` moves with every change readers can see; ``shared``
    only with those that are no one story's (a topic or provider renamed, images cached)."""

    ROW = 1

    token = models.CharField(
        max_length=16,
        default=new_token,
        help_text="Distinguishes this database's counter from another's (validators, cache keys).",
    )
    counter = models.PositiveBigIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)
    shared = models.PositiveBigIntegerField(default=1)
    shared_changed_at = models.DateTimeField(default=timezone.now)
    next_boundary = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The next go-live or expiry of a published story: the counter moves once it passes.",
    )

    def __str__(self) -> str:
        return f"reader version {self.token}.{self.counter}"
