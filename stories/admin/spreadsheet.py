"""Spreadsheet round trip on the story changelist (django-import-export).

``StorySpreadsheetMixin`` goes on the Story admin: an *Export* button that
exports the current filter and search, an *Export selected stories* action for
a selection, and an *Import* button whose preview/confirm changes editorial
fields through ``stories.resources.StoryResource`` (and so through the workflow).
"""

from __future__ import annotations

from django.contrib import messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from import_export.admin import ExportActionMixin, ImportMixin
from import_export.formats.base_formats import CSV, JSON, XLSX, YAML

from ..resources import EDITORIAL_COLUMNS, TOPIC_SEPARATOR, StoryResource

SPREADSHEET_FORMATS = [CSV, XLSX, JSON, YAML]


class StorySpreadsheetMixin(ImportMixin, ExportActionMixin):
    resource_classes = [StoryResource]
    import_formats = SPREADSHEET_FORMATS
    export_formats = SPREADSHEET_FORMATS
    import_export_change_list_template = "admin/stories/story/change_list_import_export.html"
    import_template_name = "admin/stories/story/spreadsheet_import.html"
    show_change_form_export = False
    # The audit trail records every change; admin log entries per row would only repeat it.
    skip_admin_log = True

    def has_import_permission(self, request) -> bool:
        return request.user.has_perm("stories.change_story")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("stories.view_story")

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["can_upload_story_files"] = request.user.has_perm("stories.import_stories")
        return super().changelist_view(request, extra_context)

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # A row refused at confirm time (changed since the preview) undoes the whole file.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def get_import_context_data(self, **kwargs):
        context = super().get_import_context_data(**kwargs)
        context["editorial_columns"] = EDITORIAL_COLUMNS
        context["topic_separator"] = TOPIC_SEPARATOR
        return context

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # Nothing was applied (the transaction rolled back): show why, row by row.
            messages.error(request, _("Nothing was imported: some rows were refused. See below."))
            context = self.admin_site.each_context(request)
            context.update(self.get_import_context_data())
            context.update(
                {
                    "title": _("Import"),
                    "opts": self.model._meta,
                    "result": result,
                    "form": None,
                    "fields_list": [],
                    "import_error_display": self.import_error_display,
                }
            )
            request.current_app = self.admin_site.name
            return TemplateResponse(request, [self.import_template_name], context)
        return super().process_result(result, request)
