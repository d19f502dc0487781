"""Invisible characters that reorder or hide text never reach readers, moderators or feeds as they are."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from stories.models import State
from stories.storyfile import INVISIBLE_CHARACTERS, REORDERING_CHARACTERS, one_line_problem
from stories.templatetags.reader import plain_text
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

# Right-to-left override (the "exe.txt" trick), isolates, a zero-width space, a word joiner, a BOM.
SPOOFED_TITLE = "Invoice \u202eexe.pdf\u202c is \u2066safe\u2069, zero\u200bwidth\u2060 and \ufeffBOM"
SHOWN_TITLE = "Invoice exe.pdf is safe, zerowidth and BOM"
INVISIBLE = ["\u202e", "\u202c", "\u2066", "\u2069", "\u200b", "\u2060", "\ufeff"]


def assert_clean(body: str, where: str) -> None:
    for char in INVISIBLE:
        assert char not in body, (where, hex(ord(char)))


def test_bidi_controls_and_zero_width_characters_are_stripped_everywhere(reader, moderator_client):
    topic = make_topic("Tech\u202e news")
    provider = make_provider(name="Evil\u2067 Corp", domain="evil.example")
    story = make_story(title=SPOOFED_TITLE, excerpt="An \u202eexcerpt", topics=[topic], provider=provider)
    make_story(title=SPOOFED_TITLE + " queued", state=State.IN_REVIEW, topics=[topic], provider=provider)

    pages = {
        url: reader.get(url)
        for url in [
            reverse("stories:home"),
            story.get_absolute_url(),
            reverse("stories:topic", kwargs={"slug": topic.slug}),
            reverse("stories:provider", kwargs={"domain": provider.domain}),
            reverse("stories:search") + "?q=invoice",
            reverse("stories:feed_rss"),
            reverse("stories:feed_atom"),
            reverse("stories:topic_rss", kwargs={"slug": topic.slug}),
            reverse("stories:provider_atom", kwargs={"domain": provider.domain}),
        ]
    }
    pages["queue"] = moderator_client.get(reverse("moderation:queue"))

    for where, response in pages.items():
        assert response.status_code == 200, where
        body = response.content.decode()
        if where == "queue":
            # The topics field a moderator edits keeps the exact names, so that saving changes nothing.
            body = re.sub(r'value="[^"]*"', "", body)
        assert_clean(body, where)
        # Search results mark the words found.
        assert SHOWN_TITLE in body.replace("<mark>", "").replace("</mark>", ""), where
    assert "Evil Corp" in pages[reverse("stories:home")].content.decode()
    assert "Tech news" in pages[story.get_absolute_url()].content.decode()
    assert "Evil Corp" in pages["queue"].content.decode()


def test_joiners_and_direction_marks_that_scripts_need_are_kept(reader):
    title = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u200fdev \U0001f469\u200d\U0001f4bb"
    story = make_story(title=title)

    body = reader.get(story.get_absolute_url()).content.decode()

    assert title in body


def test_what_a_story_file_may_not_hold_in_a_title_is_never_shown_from_an_older_row(reader):
    # Rows stored before the format refused them, or written around it: the reader strips them.
    hidden = "\u206a\U000e0041\U000e007f\x85\x9b"
    story = make_story(title=f"Plain{hidden} title")

    body = reader.get(story.get_absolute_url()).content.decode()

    assert "Plain title" in body
    assert not set(hidden) & set(body)


def test_the_reader_strips_every_character_the_format_refuses_for_reordering_or_hiding_text():
    refused = [
        char
        for char in map(chr, range(0x110000))
        if re.fullmatch(f"[{REORDERING_CHARACTERS}{INVISIBLE_CHARACTERS}]", char)
    ]

    assert len(refused) > 140
    assert all(one_line_problem(f"a{char}b") for char in refused)
    assert plain_text("a" + "".join(refused) + "b") == "ab"
