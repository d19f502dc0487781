"""N synthetic stories written straight into the database, for the web benchmark (``bench/web.py``).

Going through story files and the import would take far longer than the pages being measured,
so rows are inserted in bulk, shaped like the import benchmark's files (``bench/generate.py``)
and the real corpus:

* one provider per 20 stories (at least 50) and up to 400 topics, both skewed: a few
  providers and topics carry a large share of the stories, as in the real corpus;
* 1-3 topics per story, a lead image on ~93 %, ~3 % videos;
* ~2 % cluster leads with the long related lists of the sample (20-71 links, ~80 % with an image);
* most stories published (82 %), the others in review, drafts or rejected; about 1 % of the
  published ones scheduled for later, 1 % expired, 2 % with a future expiry; ~0.3 % undated;
* quality null on ~5 %, heat null on ~10 % and ``-1`` on most leads;
* the word ``azure`` in the title or excerpt of more than half the stories (in one title in
  six), ``zeitgeist`` in one title in 2,000.

Story ``i`` is a pure function of ``(seed, i, total, anchor)``.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.generate import RELATED_SIZES, WORDS, headline, provider_identity, sentence, topic_name

COMMON_WORD = "azure"  # one of the generator's words: a search that matches most stories
RARE_WORD = "zeitgeist"  # in the title of one story in RARE_EVERY
RARE_EVERY = 2000
BATCH = 1000
# States of stories that are not cluster leads, by weight: most are published.
STATES = (("published", 82), ("in_review", 10), ("draft", 5), ("rejected", 3))


def provider_count(total: int) -> int:
    return max(50, total // 20)


def topic_count(total: int) -> int:
    return max(30, min(400, total // 25))


def skewed(rng: random.Random, size: int) -> int:
    """An index in ``range(size)``, low ones far more often: a few providers and topics carry a
    large share of the stories, as in the real corpus."""
    return min(size - 1, int(size * rng.random() ** 2))


def plain(text: str) -> str:
    """The generator's text with its YAML escapes turned into the characters they stand for."""
    return text.replace('\\"', '"').replace("\\n", "\n")


@dataclass
class StoryShape:
    """One generated story: the Story columns, and what hangs off it."""

    fields: dict
    provider: int
    topics: list[int]
    lead_image: dict | None
    related: list[dict] = field(default_factory=list)


def story_shape(index: int, *, total: int, seed: int, anchor: datetime) -> StoryShape:
    """Story ``index`` of a batch of ``total``: a pure function of its arguments.

    The newest story is published just before ``anchor``; each older one about 37 minutes
    earlier, like the import benchmark's files.
    """
    rng = random.Random(f"web-{seed}-{index}")
    provider = skewed(rng, provider_count(total))
    provider_name, domain = provider_identity(provider)
    published_at = anchor - timedelta(minutes=37 * (total - 1 - index) + rng.randint(0, 36))
    slug = "-".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 8))).split()) + f"-{index}"
    title = plain(headline(rng))
    if index % RARE_EVERY == 7:
        title += f" {RARE_WORD}"
    is_video = rng.random() < 0.03
    is_lead = not is_video and rng.random() < 0.02
    quality = None if rng.random() < 0.05 else rng.randint(0, 189)
    if is_lead and rng.random() < 0.7:
        heat = -1
    elif rng.random() < 0.1:
        heat = None
    else:
        heat = quality if quality is not None and rng.random() < 0.8 else rng.randint(0, 189)
    if is_lead:
        state = "published" if rng.random() < 0.5 else "in_review"
    else:
        state = rng.choices([name for name, _ in STATES], weights=[weight for _, weight in STATES])[0]
    go_live_at = expire_at = None
    if state == "published":
        roll = rng.random()
        if roll < 0.01:  # scheduled: not live yet
            go_live_at = anchor + timedelta(days=rng.randint(1, 30))
        elif roll < 0.02:  # expired
            expire_at = published_at + timedelta(days=rng.randint(1, 30))
            expire_at = min(expire_at, anchor - timedelta(hours=1))
        elif roll < 0.04:  # live until later
            expire_at = anchor + timedelta(days=rng.randint(1, 365))
    web_url = f"https://www.{domain}/{published_at:%Y/%m}/{slug}"
    fields = {
        "identity_key": hashlib.sha256(f"web-{seed}-{index}".encode()).hexdigest(),
        "source_hash": hashlib.sha256(f"file-{seed}-{index}".encode()).hexdigest(),
        "category": "news",
        "title": title,
        "excerpt": plain(sentence(rng, 25, 45)),
        "published_at": None if rng.random() < 0.003 else published_at,
        "web_url": None if is_video else web_url,
        "original_url": f"https://youtube.com/watch?v=v{seed}x{index:07d}"
        if is_video
        else f"{web_url}?src=feed",
        "type": "video" if is_video else "article",
        "quality": quality,
        "heat": heat,
        "provider_name": provider_name,
        "secured": f"{rng.getrandbits(1024):0256x};{rng.getrandbits(128):032x}==",
        "state": state,
        "file_published": state == "published",
        "go_live_at": go_live_at,
        "expire_at": expire_at,
    }
    if is_video:
        fields["featured_content"] = (
            '<iframe width="800" height="500" frameborder="0" '
            f'src="https://www.youtube.com/embed/v{seed}x{index:07d}" allowfullscreen></iframe>'
        )
    if not is_video and rng.random() < 0.06:
        fields["amp_web_url"] = f"https://www.{domain}/amp/{published_at:%Y/%m}/{slug}"
    topics: list[int] = []
    for _ in range(rng.randint(1, 3)):
        topic = skewed(rng, topic_count(total))
        if topic not in topics:
            topics.append(topic)
    lead_image = None
    if rng.random() < 0.93:
        lead_image = {
            "url": f"https://img.{domain}/{published_at:%Y/%m}/{slug}.jpg?w=1200&h=630",
            "width": 1200,
            "height": 630,
            "is_cached": True,
        }
    related = []
    if is_lead:
        for position in range(rng.choice(RELATED_SIZES)):
            other = skewed(rng, provider_count(total))
            other_name, other_domain = provider_identity(other)
            at = published_at + timedelta(hours=rng.randint(-48, 24 * 300))
            link_slug = "-".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))) + f"-{position}"
            related.append(
                {
                    "position": position,
                    "title": plain(headline(rng)),
                    "excerpt": plain(sentence(rng, 0, 40)) if rng.random() < 0.95 else "",
                    "published_at": at,
                    "web_url": f"https://{other_domain}/{at:%Y/%m/%d}/{link_slug}/",
                    "type": "article",
                    "provider": other,
                    "provider_name": other_name,
                    "quality": rng.randint(0, 175),
                    "image": rng.random() < 0.8,
                }
            )
    return StoryShape(fields=fields, provider=provider, topics=topics, lead_image=lead_image, related=related)


def write_stories(count: int, *, seed: int) -> dict:
    """Write ``count`` stories with their providers, topics, images and related links.

    Django must be set up. Returns what was written and how long it took.
    """
    from django.db import transaction
    from django.utils import timezone
    from django.utils.text import slugify

    from providers.models import Provider
    from stories.models import Image, RelatedLink, Story, StoryTopic, Topic

    started = time.perf_counter()
    rng = random.Random(f"web-{seed}-providers")
    providers = []
    for index in range(provider_count(count)):
        name, domain = provider_identity(index)
        logo = rng.random() < 0.84
        providers.append(
            Provider(
                name=name,
                domain=domain,
                logo_url=f"https://everyday-cc.github.io/news/assets/images/organizations/{domain}-50x50.jpg"
                if logo
                else "",
                logo_width=50 if logo else None,
                logo_height=50 if logo else None,
            )
        )
    provider_ids = [provider.pk for provider in Provider.objects.bulk_create(providers, batch_size=BATCH)]
    topic_ids = [
        topic.pk
        for topic in Topic.objects.bulk_create(
            [
                Topic(name=topic_name(index), slug=slugify(topic_name(index)))
                for index in range(topic_count(count))
            ],
            batch_size=BATCH,
        )
    ]
    anchor = timezone.now().replace(minute=0, second=0, microsecond=0)
    related_total = 0
    for start in range(0, count, BATCH):
        shapes = [
            story_shape(i, total=count, seed=seed, anchor=anchor)
            for i in range(start, min(count, start + BATCH))
        ]
        with transaction.atomic():
            stories = Story.objects.bulk_create(
                [Story(provider_id=provider_ids[shape.provider], **shape.fields) for shape in shapes]
            )
            StoryTopic.objects.bulk_create(
                [
                    StoryTopic(story=story, topic_id=topic_ids[topic], position=position)
                    for story, shape in zip(stories, shapes, strict=True)
                    for position, topic in enumerate(shape.topics)
                ]
            )
            Image.objects.bulk_create(
                [
                    Image(story=story, role=Image.Role.LEAD, position=0, **shape.lead_image)
                    for story, shape in zip(stories, shapes, strict=True)
                    if shape.lead_image
                ]
            )
            pending = [
                (story, link) for story, shape in zip(stories, shapes, strict=True) for link in shape.related
            ]
            links = RelatedLink.objects.bulk_create(
                [
                    RelatedLink(
                        story=story,
                        provider_id=provider_ids[link["provider"]],
                        **{key: value for key, value in link.items() if key not in {"provider", "image"}},
                    )
                    for story, link in pending
                ]
            )
            Image.objects.bulk_create(
                [
                    Image(
                        related_link=row,
                        role=Image.Role.RELATED,
                        url=f"{row.web_url}image.jpg?w=1024&h=685",
                        width=1024,
                        height=685,
                        is_cached=True,
                    )
                    for row, (_, link) in zip(links, pending, strict=True)
                    if link["image"]
                ]
            )
            related_total += len(links)

    return {
        "seconds": time.perf_counter() - started,
        "stories": count,
        "providers": len(provider_ids),
        "topics": len(topic_ids),
        "related_links": related_total,
    }
