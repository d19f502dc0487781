"""The admin's date drill-down, drawn without scanning the table.

Django's own lists the years, months or days that hold rows with a ``SELECT DISTINCT``
over every matching row. This one offers the calendar instead: the years between the
table's first and last date (read from the index ends, newest first, at most
``YEARS_SHOWN``), a year's twelve months, a month's days. A period without rows shows an
empty list. The drill-down's parameters and their filtering stay Django's.
"""

from __future__ import annotations

import calendar
import datetime

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.db.models import Max, Min
from django.utils import formats, timezone
from django.utils.text import capfirst

from stories.models import readable_dates

register = template.Library()

YEARS_SHOWN = 15


def _years(cl, field_name: str) -> list[int]:
    # Only the row's own field bounds it: PostgreSQL reads a bare MIN and MAX from the index ends.
    bounds = cl.model._default_manager.filter(readable_dates(field_name)).aggregate(
        first=Min(field_name), last=Max(field_name)
    )
    if bounds["first"] is None:
        return []
    first, last = (timezone.localtime(bounds[k]).year for k in ("first", "last"))
    return list(range(last, max(first, last - YEARS_SHOWN + 1) - 1, -1))


def _int(value) -> int | None:
    value = value[-1] if isinstance(value, list) else value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def calendar_date_hierarchy(cl) -> dict:
    if not cl.date_hierarchy:
        return {"show": False}
    field_name = cl.date_hierarchy
    year_field, month_field, day_field = (f"{field_name}__{part}" for part in ("year", "month", "day"))
    year, month, day = (_int(cl.params.get(name)) for name in (year_field, month_field, day_field))

    def link(filters: dict) -> str:
        return cl.get_query_string(filters, [f"{field_name}__"])

    try:
        if year and month and day:
            shown = datetime.date(year, month, day)
            return {
                "show": True,
                "back": {
                    "link": link({year_field: year, month_field: month}),
                    "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT")),
                },
                "choices": [{"title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT"))}],
            }
        if year and month:
            days = calendar.monthrange(year, month)[1]
            return {
                "show": True,
                "back": {"link": link({year_field: year}), "title": str(year)},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: month, day_field: n}),
                        "title": capfirst(
                            formats.date_format(datetime.date(year, month, n), "MONTH_DAY_FORMAT")
                        ),
                    }
                    for n in range(1, days + 1)
                ],
            }
        if year:
            return {
                "show": True,
                "back": {"link": link({}), "title": "All dates"},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: n}),
                        "title": capfirst(
                            formats.date_format(datetime.date(year, n, 1), "YEAR_MONTH_FORMAT")
                        ),
                    }
                    for n in range(1, 13)
                ],
            }
    except (ValueError, OverflowError):
        # A drill-down outside the calendar: the change list has already refused it.
        return {"show": False}
    return {
        "show": True,
        "back": None,
        "choices": [{"link": link({year_field: str(n)}), "title": str(n)} for n in _years(cl, field_name)],
    }


@register.tag(name="calendar_date_hierarchy")
def calendar_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        parser, token, func=calendar_date_hierarchy, template_name="date_hierarchy.html", takes_context=False
    )
