"""The admin's forms: the story change form and its inlines, changelist rows, the workflow panel,
the bulk action pages, and the provider form.

The story forms carry the version they were rendered with; a submission made stale
meanwhile is refused with the workflow's one stale message (``workflow.stale_message``)
instead of applied blindly.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple

from providers.models import Provider

from ..fields import HttpURLFormField
from ..forms import posted_versions, score_field
from ..models import AuditEntry, Image, RelatedLink, Story, Topic
from ..validators import count_validators, validate_one_line
from ..workflow import TRANSITIONS, stale_message


def ordered_topics(pks) -> list[Topic]:
    """Topics for ``pks`` in the order given (a multiple choice field loses the order)."""
    wanted = [int(pk) for pk in pks if str(pk).isdigit()]
    by_pk = Topic.objects.in_bulk(wanted)
    return [by_pk[pk] for pk in dict.fromkeys(wanted) if pk in by_pk]


def _line_breaks_like(initial: str | None, value: str) -> str:
    """``value`` with the line breaks ``initial`` uses (browsers send a textarea's as CRLF)."""
    value = value.replace("\r\n", "\n")
    return value.replace("\n", "\r\n") if "\r\n" in (initial or "") else value


class ExactChangesMixin:
    """A model form that changes only what the person changed.

    The story format keeps text exactly, whitespace included, so text is not
    trimmed. A field counts as changed only if the person changed it: not because a
    browser sent a textarea's line breaks as CRLF, nor because the form would
    normalise a stored URL. Saving an untouched form therefore writes nothing (no
    audit entry, no new version), and an export stays byte for byte what came in.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and not isinstance(field, forms.URLField):
                field.strip = False

    @property
    def changed_data(self) -> list[str]:
        return [name for name in super().changed_data if not self._same_as_initial(name)]

    def _same_as_initial(self, name: str) -> bool:
        field, bound = self.fields[name], self[name]
        initial, data = bound.initial, bound.data
        if not isinstance(field, forms.CharField) or not isinstance(data, str):
            return False
        if isinstance(field, forms.URLField):
            return data.strip() == (initial or "")
        return (initial or "").replace("\r\n", "\n") == data.replace("\r\n", "\n")

    def clean(self):
        cleaned = super().clean()
        for name in self.changed_data:
            value = cleaned.get(name)
            if isinstance(value, str) and not isinstance(self.fields[name], forms.URLField):
                cleaned[name] = _line_breaks_like(self[name].initial, value)
        return cleaned


class StoryAdminForm(ExactChangesMixin, forms.ModelForm):
    """The admin change form. Workflow fields are read-only; the version guards the save.

    ``draft_values``: the story's pending draft (``StoryAdmin.get_form``); the form shows and
    edits it, so only what the person changed over the draft counts as changed.
    """

    # Form fields that stand for a story field of another name (``workflow.READER_FIELDS``).
    STORY_FIELDS = {"topic_choices": "topics"}
    draft_values: dict | None = None

    topic_choices = forms.ModelMultipleChoiceField(
        label="Topics",
        queryset=Topic.objects.all(),
        required=False,
        widget=AutocompleteSelectMultiple(Story._meta.get_field("topics"), admin.site),
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Story
        fields = (
            "title",
            "category",
            "type",
            "excerpt",
            "provider",
            "provider_name",
            "published_at",
            "web_url",
            "original_url",
            "amp_web_url",
            "cdn_amp_web_url",
            "featured_content",
            "secured",
            "body",
            "quality",
            "heat",
        )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["topic_choices"].initial = [st.topic_id for st in self.instance.story_topics.all()]
            self.fields["expected_version"].initial = self.instance.version
        if self.draft_values is not None:
            self.initial.update({name: v for name, v in self.draft_values.items() if name in self.fields})

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and self.has_changed():
            seen = cleaned.get("expected_version")
            current = Story.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            if seen is None or seen != current:
                message = stale_message(self.instance, seen=seen, current=current)
                raise forms.ValidationError(message, code="stale")
        return cleaned

    def chosen_topics(self) -> list[Topic]:
        return ordered_topics(self.data.getlist(self.add_prefix("topic_choices")))


class RelatedLinkInlineForm(ExactChangesMixin, forms.ModelForm):
    """A related link on the story's change page; saved through the workflow with the story."""

    class Meta:
        model = RelatedLink
        fields = (
            "position", "title", "provider", "provider_name", "web_url", "type", "quality", "published_at",
        )


class ImageInlineForm(ExactChangesMixin, forms.ModelForm):
    """An image on the story's change page; saved through the workflow with the story."""

    class Meta:
        model = Image
        fields = ("position", "role", "url", "width", "height", "title")


class StoryChangelistForm(ExactChangesMixin, forms.ModelForm):
    """A changelist row (quality, heat). The version comes from the row's hidden ``version-<pk>``."""

    def clean(self):
        cleaned = super().clean()
        self.expected_version = posted_versions(self.data, [self.instance.pk]).get(self.instance.pk)
        if self.has_changed() and self.expected_version != self.instance.version:
            message = stale_message(self.instance, seen=self.expected_version, current=self.instance.version)
            target = next((name for name in ("quality", "heat") if name in self.changed_data), None)
            self.add_error(target, forms.ValidationError(message, code="stale"))
        return cleaned


class WorkflowForm(forms.Form):
    """The workflow panel on the admin change page: a transition, or a new window."""

    action = forms.ChoiceField(
        choices=[(a, t.label) for a, t in TRANSITIONS.items()]
        + [(AuditEntry.Action.SCHEDULE, AuditEntry.Action.SCHEDULE.label)]
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    go_live_at = forms.DateTimeField(
        required=False,
        label="Go live at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    expire_at = forms.DateTimeField(
        required=False,
        label="Expire at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput)


class RejectForm(forms.Form):
    """A default reason for a bulk rejection; each story may have its own in ``reason-<pk>``."""

    reason = forms.CharField(
        label="Reason for every story without its own",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TopicsForm(forms.Form):
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.all(), widget=forms.SelectMultiple(attrs={"size": 12})
    )


class QualityHeatForm(forms.Form):
    quality = score_field()
    heat = score_field()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("quality") is None and cleaned.get("heat") is None:
            raise forms.ValidationError("Give a quality, a heat, or both.")
        return cleaned


class ProviderForm(forms.ModelForm):
    """A moderator's provider obeys the rules of a provider in a story file (the domain's are the model's)."""

    RULES = {
        "name": [validate_one_line],
        "logo_width": count_validators,
        "logo_height": count_validators,
    }

    class Meta:
        model = Provider
        fields = ("name", "domain", "logo_url", "logo_width", "logo_height")
        # The format's URL rule, and a URL typed without a scheme read as https.
        field_classes = {"logo_url": HttpURLFormField}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, validators in self.RULES.items():
            if name in self.fields:
                self.fields[name].validators.extend(validators)
