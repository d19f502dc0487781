"""The queue's forms: one row's transition or editorial values, and a bulk action on a selection.

Each carries the story version the page showed (``version``, or ``version-<pk>`` per
row for a bulk action), so a change made meanwhile is refused, not overwritten.
"""

from __future__ import annotations

from django import forms

from ..forms import score_field
from ..models import Topic
from ..storyfile import QUEUE_TOPIC_SEPARATOR
from ..workflow import TRANSITIONS


class QueueTransitionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, t.label) for a, t in TRANSITIONS.items()])
    comment = forms.CharField(required=False, max_length=2000)
    version = forms.IntegerField()


class QueueEditorialForm(forms.Form):
    """Quality, heat and topics of one queue row; topics as comma-separated names of existing topics."""

    quality = score_field()
    heat = score_field()
    topics = forms.CharField(required=False, max_length=2000)
    version = forms.IntegerField()

    def clean_topics(self) -> list[Topic]:
        names = [name.strip() for name in self.cleaned_data["topics"].split(QUEUE_TOPIC_SEPARATOR)]
        names = [name for name in names if name]
        found = {t.name.casefold(): t for t in Topic.objects.filter(name__in=names)}
        if len(found) < len({n.casefold() for n in names}):
            # Names differing only in case: match them case-insensitively, one query per odd name.
            for name in names:
                if name.casefold() not in found:
                    topic = Topic.objects.filter(name__iexact=name).first()
                    if topic is None:
                        raise forms.ValidationError(f"There is no topic called “{name}”.")
                    found[name.casefold()] = topic
        return list(dict.fromkeys(found[n.casefold()] for n in names))


class BulkQueueForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, t.label) for a, t in TRANSITIONS.items()])
    ids = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": "Select one or more stories."}
    )
    reason = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Any id is acceptable here; the view looks the stories up and reports missing ones.
        posted = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        self.fields["ids"].choices = [(value, value) for value in posted]
