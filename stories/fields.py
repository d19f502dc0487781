"""The URL column as the story file format has it, for the story models."""

from __future__ import annotations

from django import forms

from newsroom import fields

from .storyfile import MAX_LENGTH
from .validators import validate_http_url


class HttpURLFormField(forms.URLField):
    # The format's rule says why a URL is refused; Django's validator is part of it.
    default_validators = [validate_http_url]


class HttpURLField(fields.URLField):
    """A URL column as the story file format has it: http(s) only, at most 2,000 characters.

    ``validate_http_url`` is the format's own rule, in the model and its forms, so a URL
    one accepts the other saves, and a form says why it refuses one. A form given a bare
    host (``example.com/a``) reads it as https (``newsroom.fields.URLField``).
    """

    default_validators = [validate_http_url]

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_length", MAX_LENGTH["url"])
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": HttpURLFormField, **kwargs})
