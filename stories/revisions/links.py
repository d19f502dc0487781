"""Where a story's revisions are shown, and what list pages need to link there without a query per row."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse

from stories.models import Revision


def revisions_url(story_id: int) -> str:
    return reverse("admin:stories_story_revisions", args=[story_id])


def compare_url(story_id: int, *, before: int | None = None, after: int | None = None) -> str:
    """The compare page of a story: ``before`` against ``after`` (revision ids); by default live vs
    draft when a draft is pending, else the newest revision against the one it was based on."""
    query = {name: value for name, value in (("a", before), ("b", after)) if value is not None}
    url = reverse("admin:stories_story_revision_compare", args=[story_id])
    return f"{url}?{urlencode(query)}" if query else url


def revision_count():
    """An annotation: how many revisions a story has (a subquery, so a list stays one query)."""
    counts = (
        Revision.objects.filter(story=OuterRef("pk"))
        .order_by()
        .values("story")
        .annotate(count=Count("id"))
        .values("count")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def run_compare_urls(run_id: int, story_ids) -> dict[int, str]:
    """For each story an import run made revisions of: its "before vs after this import" page
    (the run's last revision against the one its first was based on). One query."""
    rows = (
        Revision.objects.filter(import_run_id=run_id, story_id__in=list(story_ids))
        .order_by("id")
        .values_list("story_id", "id", "based_on_id")
    )
    spans: dict[int, tuple[int | None, int]] = {}
    for story_id, revision_id, based_on_id in rows:
        first = spans[story_id][0] if story_id in spans else based_on_id
        spans[story_id] = (first, revision_id)
    return {
        story_id: compare_url(story_id, before=before, after=after)
        for story_id, (before, after) in spans.items()
    }
