"""Finding story files: a streamed walk in the order of the full paths sorted, whatever the size."""

from __future__ import annotations

import os

import pytest

from stories.imports import sources
from stories.imports.sources import iter_story_sources

NAMES = [
    "b.md",
    "b-c.md",
    "b/x.md",
    "b/a/z.md",
    "b/README.md",
    "a b.md",
    "é.md",
    "Z.md",
    "new\nline.md",
    "notes.txt",
    "keep.yaml",
    "skip.png",
    ".hidden.md",
    ".git/inside.md",
    "deep/er/still/deeper.md",
]


def make_tree(root, names) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\ntitle: x\n---\n", encoding="utf-8")


def expected(root) -> list[str]:
    """The order a whole listing sorted by full path gives."""
    found = []
    for top, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [os.path.join(top, name) for name in filenames if sources.is_story_file(name)]
    return sorted(found)


@pytest.mark.parametrize("run", [2, 3, sources.SORT_RUN])
def test_the_walk_gives_story_files_in_the_order_of_their_full_paths_sorted(tmp_path, monkeypatch, run):
    monkeypatch.setattr(sources, "SORT_RUN", run)  # small runs: most names go through temporary files
    make_tree(tmp_path, NAMES)
    walked = [source.path for source in iter_story_sources([str(tmp_path)])]
    assert walked == expected(tmp_path)
    assert str(tmp_path / "b.md") in walked and str(tmp_path / "new\nline.md") in walked
    assert not any("hidden" in path or ".git" in path or "README" in path for path in walked)


def test_a_directory_larger_than_a_sort_run_is_merged_from_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "SORT_RUN", 7)
    names = [f"{(n * 7919) % 1000:04d}-story.md" for n in range(100)]
    make_tree(tmp_path, names)
    walked = [os.path.basename(s.path) for s in iter_story_sources([str(tmp_path)])]
    assert walked == sorted(names)


def test_symbolic_links_to_directories_are_not_entered(tmp_path):
    make_tree(tmp_path / "real", ["one.md"])
    (tmp_path / "batch").mkdir()
    (tmp_path / "batch" / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    make_tree(tmp_path / "batch", ["two.md"])
    walked = [s.path for s in iter_story_sources([str(tmp_path / "batch")])]
    assert walked == [str(tmp_path / "batch" / "two.md")]
