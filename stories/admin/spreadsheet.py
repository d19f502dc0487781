"""Spreadsheet round trip on the story changelist (django-import-export).

``StorySpreadsheetMixin`` goes on the Story admin: an *Export* button that
exports the current filter and search, an *Export selected stories* action for
a selection, and an *Import* button whose preview/confirm changes editorial
fields through ``stories.imports.spreadsheet.StoryResource`` (and so through the workflow).

Files are untrusted (``stories.imports.spreadsheet_files``): the upload is stopped while
it streams in past the size limit, a file over the size or row limit is refused
on the form before it is kept, and between preview and confirm it waits in a
private storage under a random name that the confirm form carries signed for
the user who uploaded it.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from import_export.admin import ExportActionMixin, ImportMixin
from import_export.forms import ConfirmImportForm, ImportForm

from ..imports import uploads
from ..imports.spreadsheet import EDITORIAL_COLUMNS, TOPIC_SEPARATOR, StoryResource
from ..imports.spreadsheet_files import FORMATS, PrivateTmpStorage, SpreadsheetLimits, SpreadsheetRefused

SPREADSHEET_FORMATS = FORMATS
SIGNING_SALT = "stories.spreadsheet-import"
GONE = "This import has expired or is unknown; please choose the file again."


class SpreadsheetImportForm(ImportForm):
    """The import form, refusing a file over the limits before anything is kept."""

    def __init__(
        self, formats, resources, *, refusal: str = "", limits: SpreadsheetLimits, encoding: str, **kwargs
    ):
        super().__init__(formats, resources, **kwargs)
        self.formats = formats
        self.refusal = refusal
        self.limits = limits
        self.encoding = encoding
        if refusal:
            # The file was not received; say why instead of "This field is required".
            self.fields["import_file"].required = False

    def clean(self):
        cleaned = super().clean()
        if self.refusal:
            raise forms.ValidationError(f"{self.refusal} Nothing was stored.")
        upload, index = cleaned.get("import_file"), cleaned.get("format")
        if upload is not None and index not in (None, ""):
            try:
                self.formats[int(index)](encoding=self.encoding).check(upload, self.limits)
            except SpreadsheetRefused as exc:
                self.add_error("import_file", f"{exc} Nothing was stored.")
        return cleaned


class SpreadsheetConfirmForm(ConfirmImportForm):
    """The confirm form: the stored file's name comes back signed for this user and not expired."""

    def __init__(self, *args, user=None, formats=(), ttl_seconds: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.formats = formats
        self.ttl_seconds = ttl_seconds

    def clean_import_file_name(self) -> str:
        try:
            owner, name = signing.loads(
                self.cleaned_data["import_file_name"], salt=SIGNING_SALT, max_age=self.ttl_seconds
            )
        except (signing.BadSignature, TypeError, ValueError):
            raise forms.ValidationError(GONE) from None
        if self.user is None or owner != self.user.pk or not PrivateTmpStorage(name=name).exists():
            raise forms.ValidationError(GONE)
        return name

    def clean_format(self) -> str:
        value = self.cleaned_data["format"]
        if value not in {str(index) for index in range(len(self.formats))}:
            raise forms.ValidationError(GONE)
        return value


def sign_stored_name(name: str, user) -> str:
    return signing.dumps([user.pk, name], salt=SIGNING_SALT)


def _upload_handler(request) -> uploads.LimitedUploadHandler | None:
    return next((h for h in request.upload_handlers if isinstance(h, uploads.LimitedUploadHandler)), None)


class StorySpreadsheetMixin(ImportMixin, ExportActionMixin):
    resource_classes = [StoryResource]
    import_formats = SPREADSHEET_FORMATS
    export_formats = SPREADSHEET_FORMATS
    import_form_class = SpreadsheetImportForm
    confirm_form_class = SpreadsheetConfirmForm
    tmp_storage_class = PrivateTmpStorage
    import_export_change_list_template = "admin/stories/story/change_list_import_export.html"
    import_template_name = "admin/stories/story/spreadsheet_import.html"
    show_change_form_export = False
    # The audit trail records every change; admin log entries per row would only repeat it.
    skip_admin_log = True

    def has_import_permission(self, request) -> bool:
        return request.user.has_perm("stories.change_story")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("stories.view_story")

    def get_valid_export_item_pks(self, request):
        """The stories an *Export selected stories* post may name: those of its selection that exist.

        django-import-export checks the posted selection against these keys. Its default lists
        every story in the table on each export (and warns that it is deprecated); the posted
        keys that exist give the same answer for this request.
        """
        keys = (int(pk) for pk in request.POST.getlist("export_items") if pk.isascii() and pk.isdigit())
        posted = {key for key in keys if key < 2**63}  # a larger number is no story's and no database's
        return self.model._default_manager.filter(pk__in=posted).values_list("pk", flat=True)

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["can_upload_story_files"] = request.user.has_perm("stories.import_stories")
        return super().changelist_view(request, extra_context)

    # --- receiving the file ------------------------------------------------------------------

    def get_urls(self):
        name = "{}_{}_import".format(*self.get_model_info())
        urls = [url for url in super().get_urls() if getattr(url, "name", None) != name]
        # The import view installs its upload handler before the body is read, so it does
        # its own CSRF check once the handler is in place.
        view = self.admin_site.admin_view(csrf_exempt(self.limited_import_action))
        return [path("import/", view, name=name), *urls]

    def limited_import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            limits = SpreadsheetLimits.from_settings()
            request.upload_handlers.insert(
                0, uploads.LimitedUploadHandler(request, max_bytes=limits.max_bytes, max_files=1)
            )
        return csrf_protect(self.import_action)(request, **kwargs)

    def get_import_form_kwargs(self, request):
        kwargs = super().get_import_form_kwargs(request)
        handler = _upload_handler(request)
        kwargs["refusal"] = handler.refusal if handler is not None else ""
        kwargs["limits"] = SpreadsheetLimits.from_settings()
        kwargs["encoding"] = self.from_encoding
        return kwargs

    def write_to_tmp_storage(self, import_file, input_format):
        # Streamed to disk chunk by chunk, not gathered in memory first.
        storage = self.get_tmp_storage_class()(
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(),
        )
        storage.save_chunks(import_file.chunks())
        return storage

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, SpreadsheetRefused):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    # --- preview and confirm -----------------------------------------------------------------

    def get_confirm_form_kwargs(self, request, import_form=None):
        kwargs = super().get_confirm_form_kwargs(request, import_form)
        kwargs.update(
            user=request.user,
            formats=self.get_import_formats(),
            ttl_seconds=SpreadsheetLimits.from_settings().ttl_seconds,
        )
        return kwargs

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["import_file_name"] = sign_stored_name(initial["import_file_name"], request.user)
        return initial

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return self._start_again(request, GONE)
        input_format = self.get_import_formats()[int(confirm_form.cleaned_data["format"])](
            encoding=self.from_encoding
        )
        storage = self.get_tmp_storage_class()(
            name=confirm_form.cleaned_data["import_file_name"],
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(),
        )
        try:
            # Checked at the preview already; the limits may have changed since.
            dataset = input_format.create_dataset(storage.read())
        except (SpreadsheetRefused, OSError) as exc:
            storage.remove()
            return self._start_again(request, str(exc) if isinstance(exc, SpreadsheetRefused) else GONE)
        result = self.process_dataset(dataset, confirm_form, request, **kwargs)
        storage.remove()
        return self.process_result(result, request)

    def _start_again(self, request, message: str):
        messages.error(request, message)
        return HttpResponseRedirect(reverse("admin:{}_{}_import".format(*self.get_model_info())))

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # A row refused at confirm time (changed since the preview) undoes the whole file.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def get_import_context_data(self, **kwargs):
        context = super().get_import_context_data(**kwargs)
        limits = SpreadsheetLimits.from_settings()
        context["editorial_columns"] = EDITORIAL_COLUMNS
        context["topic_separator"] = TOPIC_SEPARATOR
        context["max_rows"] = limits.max_rows
        context["max_bytes"] = limits.max_bytes
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
