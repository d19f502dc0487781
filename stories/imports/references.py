"""The providers and topics story files name: found, or created once, and kept for the run.

Providers are matched by domain whatever its case; a provider first seen in a file takes the
file's name and the first image of its ``images`` as its logo. Topics are matched by name
and get a unique slug. A batch's new ones are created in bulk; anything unusual (a slug
already taken, a clash with a concurrent import) is left to ``provider()``/``topic()``,
which handle it one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from providers.models import Provider
from stories.models import Topic
from stories.storyfile import ProviderRecord, StoryRecord

from .parsing import batches

# Providers and topics kept between chunks, each: past it the run starts afresh, so that memory
# does not grow with a batch that names many thousands (each chunk loads what it names anyway).
KEPT = 1_000


def _providers_of(records: Iterable[StoryRecord]) -> Iterator[ProviderRecord]:
    for record in records:
        for provider in [record.provider] + [r.provider for r in record.related or ()]:
            if provider is not None and provider.domain:
                yield provider


def _domain(provider: ProviderRecord) -> str:
    return provider.domain.strip().lower()


def _logo(provider: ProviderRecord) -> dict:
    """A provider's logo columns from the first of its images (empty when it has none)."""
    logo = provider.images[0] if provider.images and provider.images[0].url else None
    if logo is None:
        return {}
    return {"logo_url": logo.url, "logo_width": logo.width, "logo_height": logo.height}


def _free_slug(name: str) -> str:
    base = slugify(name)[:200] or "topic"
    taken = set(Topic.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


class References:
    """Providers by lower-cased domain and topics by name, for one import run."""

    def __init__(self) -> None:
        self.providers: dict[str, Provider] = {}
        self.topics: dict[str, Topic] = {}
        self._new_providers: list[str] = []
        self._new_topics: list[str] = []

    def warm(self, records: Iterable[StoryRecord]) -> None:
        """Load the stored providers and topics ``records`` name, a fixed number of queries."""
        records = list(records)
        if len(self.providers) > KEPT or len(self.topics) > KEPT:
            self.forget_all()
        domains = {_domain(p) for p in _providers_of(records)}
        names = {name for record in records for name in record.topics or ()}
        for batch in batches(domains - set(self.providers)):
            for provider in Provider.objects.filter(domain__in=batch):
                self.providers.setdefault(provider.domain.lower(), provider)
        for batch in batches(names - set(self.topics)):
            for topic in Topic.objects.filter(name__in=batch):
                self.topics[topic.name] = topic

    def create_missing(self, records: Iterable[StoryRecord]) -> None:
        """Create in bulk the providers and topics ``records`` name that do not exist yet
        (``warm`` first): a fixed number of queries however many a story has."""
        records = list(records)
        providers: dict[str, ProviderRecord] = {}
        for provider in _providers_of(records):
            if _domain(provider) not in self.providers:
                providers.setdefault(_domain(provider), provider)
        if providers:
            Provider.objects.bulk_create(
                [Provider(name=p.name, domain=domain, **_logo(p)) for domain, p in providers.items()],
                ignore_conflicts=True,
            )
            for batch in batches(providers):
                for provider in Provider.objects.filter(domain__in=batch):
                    self.providers[provider.domain.lower()] = provider
                    self._new_providers.append(provider.domain.lower())
        names = dict.fromkeys(name for record in records for name in record.topics or ())
        missing = [name for name in names if name not in self.topics]
        if missing:
            self._create_topics(missing)

    def _create_topics(self, names: list[str]) -> None:
        bases = {name: slugify(name)[:200] or "topic" for name in names}
        taken: set[str] = set()
        for batch in batches(set(bases.values())):
            taken.update(Topic.objects.filter(slug__in=batch).values_list("slug", flat=True))
        new = []
        for name, base in bases.items():
            if base not in taken:
                taken.add(base)
                new.append(Topic(name=name, slug=base))
        Topic.objects.bulk_create(new, ignore_conflicts=True)
        for batch in batches([t.name for t in new]):
            for topic in Topic.objects.filter(name__in=batch):
                self.topics[topic.name] = topic
                self._new_topics.append(topic.name)

    def provider(self, record: ProviderRecord | None) -> Provider | None:
        """The provider ``record`` names (none without a domain), created on first sight; a provider
        without a logo takes the file's."""
        if record is None or not record.domain:
            return None
        domain = _domain(record)
        provider = self.providers.get(domain)
        if provider is None:
            provider, created = Provider.objects.get_or_create_for_domain(domain=domain, name=record.name)
            self.providers[domain] = provider
            if created:
                self._new_providers.append(domain)
        logo = _logo(record)
        if not provider.logo_url and logo:
            Provider.objects.filter(pk=provider.pk, logo_url="").update(**logo)
            for name, value in logo.items():
                setattr(provider, name, value)
        return provider

    def topic(self, name: str) -> Topic:
        """The topic called ``name``, created with a free slug on first sight."""
        topic = self.topics.get(name) or Topic.objects.filter(name=name).first()
        if topic is None:
            try:
                with transaction.atomic():
                    topic = Topic.objects.create(name=name, slug=_free_slug(name))
                self._new_topics.append(name)
            except IntegrityError:  # created concurrently
                topic = Topic.objects.get(name=name)
        self.topics[name] = topic
        return topic

    def topics_named(self, names: Iterable[str]) -> list[Topic]:
        return [self.topic(name) for name in dict.fromkeys(names)]

    def begin(self) -> None:
        """A savepoint starts: what is created from now on may be rolled back."""
        self._new_providers.clear()
        self._new_topics.clear()

    def forget_new(self) -> None:
        """After a savepoint's rollback, what was created inside it no longer exists."""
        for domain in self._new_providers:
            self.providers.pop(domain, None)
        for name in self._new_topics:
            self.topics.pop(name, None)
        self.begin()

    def forget_all(self) -> None:
        """After a chunk's rollback, nothing cached may be trusted."""
        self.providers.clear()
        self.topics.clear()
