from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from newsroom import fields

from .domains import InvalidDomain, check_domain


def validate_domain(value: str) -> None:
    """A provider's domain must be a host name (its pages live at /provider/<domain>/)."""
    try:
        check_domain(value)
    except InvalidDomain as exc:
        raise ValidationError(f"This value is not a host name: it {exc}.", code="domain") from None


class ProviderQuerySet(models.QuerySet):
    def get_or_create_for_domain(self, *, domain: str, name: str) -> tuple[Provider, bool]:
        """The provider for a domain, matched case-insensitively; created on first sight.

        Raises InvalidDomain (a ValueError) for a domain that is not a host name.
        """
        domain = check_domain(domain)
        provider = self.filter(domain__iexact=domain).first()
        if provider is not None:
            return provider, False
        return self.get_or_create(domain=domain, defaults={"name": name})


class Provider(models.Model):
    """A publisher, identified by its domain (case-insensitive)."""

    name = models.CharField(max_length=300)
    domain = models.CharField(
        max_length=253, validators=[validate_domain], help_text="Identifies the provider, e.g. cbsnews.com."
    )
    logo_url = fields.URLField(max_length=2000, blank=True)
    logo_width = models.PositiveIntegerField(null=True, blank=True)
    logo_height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("domain"), name="provider_domain_unique_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.domain})"
