"""Model fields shared by the apps."""

from __future__ import annotations

from django.db import models


class URLField(models.URLField):
    """A URL column whose forms take a URL typed without a scheme as https://, not http://.

    Every form built from the model (the admin's, our model forms) gets the rule from here.
    https is also what Django 6.0 assumes; until then a form field left to choose warns.
    """

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})

    def deconstruct(self):
        # Migrations see Django's URLField: the column is the same, and historical models
        # build no forms, so changing the class needs no migration.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.URLField", args, kwargs
