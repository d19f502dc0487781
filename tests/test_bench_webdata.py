"""The web benchmark's stories have the mix its README promises (a pure function: no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.generate import RELATED_SIZES
from bench.webdata import (
    COMMON_WORD,
    RARE_EVERY,
    RARE_WORD,
    provider_count,
    story_shape,
    topic_count,
)

TOTAL = 100_000
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def shapes():
    return [story_shape(index, total=TOTAL, seed=1, anchor=ANCHOR) for index in range(0, TOTAL, 25)]


def share(shapes, test) -> float:
    return sum(1 for shape in shapes if test(shape)) / len(shapes)


def test_a_story_is_a_pure_function_of_its_arguments():
    assert story_shape(123, total=TOTAL, seed=1, anchor=ANCHOR) == story_shape(
        123, total=TOTAL, seed=1, anchor=ANCHOR
    )
    assert story_shape(123, total=TOTAL, seed=2, anchor=ANCHOR) != story_shape(
        123, total=TOTAL, seed=1, anchor=ANCHOR
    )


def test_most_stories_are_published_and_every_state_occurs(shapes):
    assert 0.75 < share(shapes, lambda shape: shape.fields["state"] == "published") < 0.9
    assert {shape.fields["state"] for shape in shapes} == {"published", "in_review", "draft", "rejected"}


def test_heat_and_quality_have_nulls(shapes):
    assert 0.05 < share(shapes, lambda shape: shape.fields["heat"] is None) < 0.15
    assert 0.02 < share(shapes, lambda shape: shape.fields["quality"] is None) < 0.08


def test_cluster_leads_carry_the_long_related_lists(shapes):
    leads = [shape for shape in shapes if shape.related]
    assert 0.01 < len(leads) / len(shapes) < 0.03
    assert {len(shape.related) for shape in leads} <= set(RELATED_SIZES)


def test_providers_and_topics_stay_in_range_and_are_skewed(shapes):
    assert provider_count(TOTAL) == 5000 and topic_count(TOTAL) == 400
    assert all(0 <= shape.provider < provider_count(TOTAL) for shape in shapes)
    assert all(1 <= len(set(shape.topics)) == len(shape.topics) <= 3 for shape in shapes)
    assert share(shapes, lambda shape: 0 in shape.topics) > 0.05  # far above 1 in 400


def test_search_words_are_common_and_rare(shapes):
    assert (
        share(shapes, lambda shape: COMMON_WORD in f"{shape.fields['title']} {shape.fields['excerpt']}") > 0.5
    )
    titles = (story_shape(index, total=TOTAL, seed=1, anchor=ANCHOR).fields["title"] for index in range(8000))
    rare = [index for index, title in enumerate(titles) if RARE_WORD in title]
    assert rare == [7, RARE_EVERY + 7, 2 * RARE_EVERY + 7, 3 * RARE_EVERY + 7]
