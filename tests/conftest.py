"""Personas, small factories and a way to run manage.py commands, shared by the whole suite."""

from __future__ import annotations

import io
import itertools
import sys
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import execute_from_command_line
from django.utils import timezone

from newsroom.settings import env
from providers.models import Provider
from stories.models import Image, RelatedLink, State, Story, StoryTopic, Topic
from stories.reader import version as reader_version
from stories.roles import ensure_roles
from tests.browser import MISSING, REQUIRE_VARIABLE, chromium_binaries, start_chromium

_counter = itertools.count(1)


def make_provider(*, name: str | None = None, domain: str | None = None) -> Provider:
    n = next(_counter)
    return Provider.objects.create(name=name or f"Provider {n}", domain=domain or f"provider{n}.example")


def make_topic(name: str | None = None) -> Topic:
    from django.utils.text import slugify

    name = name or f"Topic {next(_counter)}"
    topic, _ = Topic.objects.get_or_create(name=name, defaults={"slug": slugify(name)})
    return topic


def make_story(
    *,
    title: str | None = None,
    state: str = State.PUBLISHED,
    provider: Provider | None = None,
    topics: list[Topic] | None = None,
    related: int = 0,
    images: int = 1,
    **fields,
) -> Story:
    """A story as an import would leave it (a published one moves the reader version). Goes
    straight to the ORM: tests of the workflow itself must use the services instead."""
    n = next(_counter)
    provider = provider or make_provider()
    defaults = {
        "identity_key": f"{n:064d}",
        "category": "news",
        "title": title or f"Story {n}",
        "excerpt": f"Excerpt of story {n}.",
        "published_at": timezone.now() - timedelta(hours=n),
        "web_url": f"https://{provider.domain}/story-{n}",
        "type": "article",
        "quality": 50,
        "heat": 50,
        "provider_name": provider.name,
        "secured": f"secured-{n}",
    }
    defaults.update(fields)
    story = Story.objects.create(provider=provider, state=state, **defaults)
    for position, topic in enumerate(topics or []):
        StoryTopic.objects.create(story=story, topic=topic, position=position)
    for position in range(images):
        Image.objects.create(
            story=story, role=Image.Role.LEAD, position=position,
            url=f"https://img.example/{n}-{position}.jpg", width=800, height=450, is_cached=True,
        )
    for position in range(related):
        other = make_provider()
        link = RelatedLink.objects.create(
            story=story, position=position, title=f"Related {n}.{position}",
            web_url=f"https://{other.domain}/r-{n}-{position}", type="article",
            provider=other, provider_name=other.name, quality=40,
        )
        Image.objects.create(
            related_link=link, role=Image.Role.RELATED, url=f"https://img.example/r{n}-{position}.jpg"
        )
    if state == State.PUBLISHED:
        reader_version.bump()
    return story


def _user_in(django_user_model, username: str, group: str | None, **extra):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)
    if group:
        # Transactional tests flush the database, roles created by migration included.
        ensure_roles(django_apps)
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty cache: the reader version's row starts over in each one."""
    cache.clear()


@pytest.fixture
def editor(db, django_user_model):
    return _user_in(django_user_model, "edna", "Editors", is_staff=True)


@pytest.fixture
def moderator(db, django_user_model):
    return _user_in(django_user_model, "morgan", "Moderators", is_staff=True)


@pytest.fixture
def staff_without_roles(db, django_user_model):
    return _user_in(django_user_model, "stan", None, is_staff=True)


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def reader(client):
    """An anonymous reader."""
    return client


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run manage.py in this process (so it sees the test database); returns (exit code, out, err)."""
    # The command closes database connections when it ends; the test still needs its own.
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)

    def run(*argv: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsys.readouterr()
        try:
            execute_from_command_line(["manage.py", *argv])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Browser tests without a browser skip, before any fixture (the database included) is set up.

    Raised here, every skip has the same place and reason, so the summary shows one line for all.
    """
    wants_browser = item.get_closest_marker("browser") or "browser" in getattr(item, "fixturenames", ())
    if wants_browser and chromium_binaries() is None:
        if env.bool(REQUIRE_VARIABLE, False):
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)


@pytest.fixture
def browser():
    """A headless Chromium (tests marked ``browser``)."""
    driver = start_chromium(*chromium_binaries())
    yield driver
    driver.quit()
