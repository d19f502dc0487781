"""Admin saves and deletes of rows readers see move the reader version (``stories.reader.version``).

Stories change through the workflow, which moves it itself; what the admin writes around the
workflow is a topic's or a provider's name or domain, and deletions.
"""

from __future__ import annotations

from django.db.models import QuerySet

from ..reader import version as reader_version


class ReaderVersionAdminMixin:
    """For a ModelAdmin: a save or delete of rows that ``seen_by_readers`` moves the reader version."""

    def seen_by_readers(self, rows: QuerySet) -> bool:
        raise NotImplementedError

    def _rows(self, obj) -> QuerySet:
        return self.model._default_manager.filter(pk=obj.pk)

    def save_model(self, request, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and self.seen_by_readers(self._rows(obj)):
            reader_version.changed(shared=True)

    def delete_model(self, request, obj) -> None:
        seen = self.seen_by_readers(self._rows(obj))
        super().delete_model(request, obj)
        if seen:
            reader_version.changed(shared=True)

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        seen = self.seen_by_readers(queryset)
        super().delete_queryset(request, queryset)
        if seen:
            reader_version.changed(shared=True)
