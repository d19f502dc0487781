"""Images in the admin: uploading or replacing a story's lead image, and thumbnails for lists.

The upload page lives at ``admin/stories/story/<id>/lead-image/`` (URL name
``story_lead_image``), behind the admin's login and CSRF protection, and needs
``stories.change_story``. The replacement goes through the workflow
(``workflow.replace_lead_image``): it carries the version the page showed, and on
a published story only a moderator may change the picture readers see.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods

from stories import workflow
from stories.images import ImageRejected, decode_image, renditions
from stories.models import Image, Story, lead_images_prefetch
from stories.validators import validate_one_line

THUMBNAIL_WIDTH = 120


def thumbnail_html(image: Image | None, *, max_width: int = THUMBNAIL_WIDTH) -> SafeString:
    """A small local thumbnail for admin lists, or the image's cache status when it has none."""
    if image is None:
        return format_html('<span class="newsroom-image-status">{}</span>', "no image")
    options = renditions(image)
    if not options:
        return format_html(
            '<span class="newsroom-image-status" title="{}">{}</span>',
            image.cache_error,
            image.get_cache_status_display().lower(),
        )
    smallest = options[0]
    width = min(max_width, smallest.width)
    height = max(1, round(smallest.height * width / smallest.width))
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="" loading="lazy" class="newsroom-thumbnail">',
        smallest.fallback_url,
        width,
        height,
    )


@admin.display(description="Image")
def lead_thumbnail(story: Story) -> SafeString:
    """For ``list_display`` on story lists; the queryset feeds ``Story.lead_image`` (``with_cards()``)."""
    return thumbnail_html(story.lead_image)


class LeadImageForm(forms.Form):
    image = forms.FileField(
        help_text="JPEG, PNG, GIF or WebP. Metadata is removed and thumbnails are made.",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )
    title = forms.CharField(
        label="Alt text",
        max_length=1000,
        required=False,
        validators=[validate_one_line],
        help_text="What the image shows, for readers who cannot see it. Left empty, the current one is kept.",
    )
    comment = forms.CharField(label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    def clean_image(self) -> bytes:
        upload = self.cleaned_data["image"]
        if upload.size > settings.NEWSROOM_IMAGE_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size} bytes; the limit is {settings.NEWSROOM_IMAGE_MAX_BYTES}."
            )
        data = upload.read()
        try:
            decode_image(data, max_pixels=settings.NEWSROOM_IMAGE_MAX_PIXELS)
        except ImageRejected as exc:
            raise forms.ValidationError(f"This file is not an image we can use: {exc}.") from None
        return data


@require_http_methods(["GET", "POST"])
def _lead_image_view(request: HttpRequest, story_id: int) -> HttpResponse:
    if not request.user.has_perm("stories.change_story"):
        raise PermissionDenied
    story = get_object_or_404(Story.objects.prefetch_related(lead_images_prefetch()), pk=story_id)
    if request.method == "POST":
        form = LeadImageForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                workflow.replace_lead_image(
                    story,
                    data=form.cleaned_data["image"],
                    actor=request.user,
                    title=form.cleaned_data["title"],
                    comment=form.cleaned_data["comment"],
                    expected_version=form.cleaned_data["expected_version"],
                )
            except ImageRejected as exc:
                form.add_error("image", f"This file is not an image we can use: {exc}.")
            except workflow.WorkflowError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "The lead image was replaced.")
                try:
                    return redirect(reverse("admin:stories_story_change", args=[story.pk]))
                except NoReverseMatch:
                    return redirect(reverse("story_lead_image", kwargs={"story_id": story.pk}))
    else:
        form = LeadImageForm(initial={"expected_version": story.version})
        if workflow.held_for_moderator(story, request.user, ["images"]):
            messages.warning(
                request,
                f"“{story}” is published: only a moderator can change what readers see, its lead image "
                "included.",
            )
    lead = story.lead_image
    context = {
        **admin.site.each_context(request),
        "title": "Lead image",
        "subtitle": str(story),
        "opts": Story._meta,
        "story": story,
        "lead": lead,
        "form": form,
        "thumbnail": thumbnail_html(lead, max_width=320),
    }
    return TemplateResponse(request, "admin/stories/story/lead_image.html", context)


# Staff login and CSRF protection from the admin site; the permission check is in the view.
lead_image_view = admin.site.admin_view(_lead_image_view)
