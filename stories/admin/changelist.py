"""Admin change lists that answer a request they cannot serve with the list unfiltered, never a 500."""

from __future__ import annotations

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList


class SafeChangeList(ChangeList):
    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            # The date drill-down bounds a year, month or day by the next one; after
            # 31 December 9999 there is none. Django then shows the unfiltered list.
            raise IncorrectLookupParameters(error) from error


class SafeChangeListMixin:
    def get_changelist(self, request, **kwargs):
        return SafeChangeList
