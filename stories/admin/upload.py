"""The upload of story files in the admin, with preview and confirm (under the import run admin's URLs).

- ``upload/``: an editor (``stories.import_stories``) sends story files or
  ``.zip`` archives; they are checked and stored server-side
  (``stories.imports.uploads``), then imported as a dry run and shown as a preview
  (``stories.imports.preview``).
- ``upload/<token>/confirm/``: imports the stored files for real, inside one
  transaction, and refuses (rolling everything back) if the outcome differs
  from the preview the user saw.
- ``upload/<token>/discard/``: forgets the stored files.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from ..imports import uploads
from ..imports.preview import PreviewMismatch, apply_upload, preview_upload

IMPORT_PERMISSION = "stories.import_stories"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".txt,.md,.yaml,.yml,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Story files",
        help_text="Several story files at once, or .zip archives of them.",
    )


class StoryFileUploadMixin:
    """For the import run admin: the upload, preview, confirm and discard views, and the upload button."""

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["can_upload"] = request.user.has_perm(IMPORT_PERMISSION)
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        urls = super().get_urls()
        # The upload view installs its own upload handler, so it does its own CSRF check
        # once the handler is in place (see upload_view).
        upload = csrf_exempt(self.upload_view)
        return [
            path("upload/", self.admin_site.admin_view(upload), name="stories_importrun_upload"),
            path(
                "upload/<str:token>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="stories_importrun_upload_confirm",
            ),
            path(
                "upload/<str:token>/discard/",
                self.admin_site.admin_view(self.discard_view),
                name="stories_importrun_upload_discard",
            ),
        ] + urls

    def _check_import_permission(self, request: HttpRequest) -> None:
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied("You do not have permission to import stories.")

    def _context(self, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        context = dict(self.admin_site.each_context(request))
        context.update({"opts": self.opts, "title": "Upload story files", **extra})
        return context

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        self._check_import_permission(request)
        limits = uploads.UploadLimits.from_settings()
        if request.method != "POST":
            return self._render_form(request, UploadForm(), limits)
        handler = uploads.LimitedUploadHandler(
            request, max_bytes=limits.max_total_bytes, max_files=limits.max_files
        )
        request.upload_handlers.insert(0, handler)
        return csrf_protect(self._receive_upload)(request, handler, limits)

    def _render_form(self, request, form, limits, status: int = 200) -> HttpResponse:
        return TemplateResponse(
            request,
            "admin/stories/importrun/upload.html",
            self._context(request, form=form, limits=limits),
            status=status,
        )

    def _receive_upload(self, request, handler, limits) -> HttpResponse:
        form = UploadForm(request.POST, request.FILES)
        if handler.refusal:
            form.add_error(None, handler.refusal + " Nothing was stored.")
            return self._render_form(request, form, limits, status=400)
        if not form.is_valid():
            return self._render_form(request, form, limits, status=400)
        try:
            upload = uploads.store_upload(files=form.cleaned_data["files"], user=request.user, limits=limits)
        except uploads.UploadRefused as exc:
            form.add_error(None, f"{exc} Nothing was stored.")
            return self._render_form(request, form, limits, status=400)
        return self._preview(request, upload)

    def _preview(self, request, upload: uploads.StoredUpload, *, refusal: str = "") -> HttpResponse:
        preview = preview_upload(upload, actor=request.user)
        return TemplateResponse(
            request,
            "admin/stories/importrun/preview.html",
            self._context(
                request,
                title="Preview of the upload",
                upload=upload,
                rows=preview.rows,
                counts=preview.counts,
                held_count=preview.held_count,
                refusal=refusal,
                applicable=preview.applicable,
            ),
        )

    def _stored_upload(self, request: HttpRequest, token: str) -> uploads.StoredUpload | None:
        """The person's stored upload of that token, or None once it has expired or been discarded."""
        self._check_import_permission(request)
        try:
            return uploads.load_upload(token=token, user=request.user)
        except uploads.UploadNotFound:
            return None

    @method_decorator(require_POST)
    def confirm_view(self, request: HttpRequest, token: str) -> HttpResponse:
        upload = self._stored_upload(request, token)
        if upload is None:
            messages.error(request, "This upload has expired or is unknown; please upload the files again.")
            return HttpResponseRedirect(reverse("admin:stories_importrun_upload"))
        try:
            report = apply_upload(upload, actor=request.user)
        except PreviewMismatch:
            return self._preview(
                request,
                upload,
                refusal=(
                    "Nothing was imported: the outcome would differ from the preview you saw "
                    "(stories changed in the meantime). Here is the new preview; "
                    "confirm again if it is right."
                ),
            )
        uploads.discard_upload(token=upload.token)
        run = report.run
        messages.success(
            request,
            f"Imported {len(report.results)} files: "
            + ", ".join(f"{n} {name}" for name, n in report.counts.items() if n)
            + ".",
        )
        return HttpResponseRedirect(reverse("admin:stories_importrun_change", args=[run.pk]))

    @method_decorator(require_POST)
    def discard_view(self, request: HttpRequest, token: str) -> HttpResponse:
        upload = self._stored_upload(request, token)
        if upload is not None:
            uploads.discard_upload(token=upload.token)
            messages.info(request, "The upload was discarded; nothing was imported.")
        return HttpResponseRedirect(reverse("admin:stories_importrun_upload"))
