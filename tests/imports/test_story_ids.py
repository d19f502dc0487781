"""What a run wrote is kept a bit per story id, in increasing order, whatever the ids."""

from __future__ import annotations

import random

from stories.imports.story_ids import StoryIds


def test_story_ids_behave_as_a_set_of_ints_in_increasing_order():
    rng = random.Random(5)
    wanted = {rng.randrange(1, 10**12) for _ in range(2000)} | {1, 7, 8, 65535, 65536, 65537, 2**40}
    ids = StoryIds()
    for pk in list(wanted) + list(wanted)[:300]:  # some twice: counted once
        ids.add(pk)
    assert len(ids) == len(wanted)
    assert list(ids) == sorted(wanted)
    assert all(pk in ids for pk in wanted)
    assert not any(pk in ids for pk in (2, 9, 65534, 65538, 10**12 + 1) if pk not in wanted)
