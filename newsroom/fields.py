"""Model fields any app may use (the apps import this module; it imports no app)."""

from __future__ import annotations

from django.db import models


class URLField(models.URLField):
    """A URL column whose forms take a URL typed without a scheme as https://, not http://.

    Every form built from the model (the admin's, any model form) gets the rule from here.
    https is also what Django 6.0 assumes; until then a form field left to choose warns.
    """

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})
