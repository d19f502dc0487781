"""Admin change lists that stay cheap on large tables and never answer a bad filter with a 500.

``SafeChangeList`` answers a request it cannot serve with the list unfiltered. ``CappedChangeList``
counts at most ``stories.counts.COUNT_CAP`` rows (an unfiltered list on PostgreSQL says "about"
the planner's estimate instead) and never counts the whole table a second time; its date
drill-down is drawn without a scan (``stories.templatetags.admin_dates``).
"""

from __future__ import annotations

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import InvalidPage
from django.db.models import QuerySet

from ..counts import CappedPaginator, table_estimate


class SafeChangeList(ChangeList):
    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            # The date drill-down bounds a year, month or day by the next one; after
            # 31 December 9999 there is none. Django then shows the unfiltered list.
            raise IncorrectLookupParameters(error) from error


class CappedChangeList(SafeChangeList):
    """A change list whose count is capped (see ``stories.counts``) and shown as such."""

    def get_results(self, request):
        # Django's own, with a capped paginator and without the second, unfiltered count.
        narrowed = bool(self.has_active_filters or self.query)
        estimate = None if narrowed else (lambda: table_estimate(self.model))
        paginator = CappedPaginator(self.queryset, self.list_per_page, estimate=estimate)
        result_count = paginator.count
        can_show_all = result_count <= self.list_max_show_all
        multi_page = result_count > self.list_per_page
        if (self.show_all and can_show_all) or not multi_page:
            result_list = self.queryset._clone()
        else:
            try:
                result_list = paginator.page(self.page_num).object_list
            except InvalidPage as error:
                raise IncorrectLookupParameters from error
        self.result_count = result_count
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.full_result_count = None
        self.result_list = result_list
        self.can_show_all = can_show_all
        self.multi_page = multi_page
        self.paginator = paginator

    @property
    def count_text(self) -> str:
        """The number of rows as the page says it: exact, "about" an estimate, or "more than" the cap."""
        paginator, count = self.paginator, self.result_count
        noun = self.opts.verbose_name if count == 1 else self.opts.verbose_name_plural
        if paginator.count_is_estimate:
            return f"about {count:,} {noun}"
        if not paginator.count_is_exact:
            return f"more than {paginator.cap:,} {noun}"
        return f"{count:,} {noun}"


class CappedChangeListMixin:
    """For a ModelAdmin: the capped change list, no facet counts, no second count."""

    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return CappedChangeList


class SafeChangeListMixin:
    def get_changelist(self, request, **kwargs):
        return SafeChangeList


class RowCountChangeList(CappedChangeList):
    """A change list that annotates its ModelAdmin's ``row_counts()`` (name → annotation, e.g.
    ``stories.counts.related_count``) on the rows it lists, not on the admin's queryset: the
    autocomplete uses that one too."""

    def get_queryset(self, request, exclude_parameters=None) -> QuerySet:
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.annotate(**self.model_admin.row_counts())
