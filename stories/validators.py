"""The story file format's value rules as Django validators.

The admin forms write the same columns as an import, so they refuse the same values
with the same reasons: a value an editor could save but a re-import would refuse (or
the other way round) would leave a story that one of the two can never handle.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

from .storyfile import INT_MAX, SCORE_MAX, SCORE_MIN, one_line_problem, topic_name_problem, url_problem


def _refuse(reason: str | None, code: str) -> None:
    if reason:
        raise ValidationError(f"This value {reason}.", code=code)


def validate_http_url(value: str) -> None:
    """Only http(s) URLs that the importer accepts too."""
    reason = url_problem(value)
    if reason:
        raise ValidationError(f"{reason}.", code="http_url")


def validate_one_line(value: str) -> None:
    """No line breaks, controls that reorder text or invisible characters (titles, names)."""
    _refuse(one_line_problem(value), "one_line")


def validate_topic_name(value: str) -> None:
    """A topic name that survives the queue's and the spreadsheets' lists of names."""
    _refuse(topic_name_problem(value), "topic_name")


# What a file may give for quality and heat, and what a 32-bit column holds.
score_validators = [MinValueValidator(SCORE_MIN), MaxValueValidator(SCORE_MAX)]
count_validators = [MaxValueValidator(INT_MAX)]  # PositiveIntegerField; SQLite alone would take 64 bits
