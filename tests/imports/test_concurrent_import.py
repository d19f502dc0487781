"""Two imports of overlapping batches at the same time, in two real processes, on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from bench.generate import generate
from providers.models import Provider
from stories.models import ImportRun, Story, Topic
from stories.storyfile import parse_story

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent writers need PostgreSQL (SQLite serialises every write)",
    ),
]


def database_url() -> str:
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def start_import(paths: list[Path], *, jobs: int = 1) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=database_url(), DEBUG="1")
    command = [sys.executable, str(BASE_DIR / "manage.py"), "import_stories", "--jobs", str(jobs)]
    return subprocess.Popen(
        [*command, *map(str, paths)],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def providers_and_topics(files: list[Path]) -> tuple[set[str], set[str]]:
    domains: set[str] = set()
    topics: set[str] = set()
    for path in files:
        record = parse_story(path.read_bytes())
        topics.update(record.topics or ())
        for provider in [record.provider] + [item.provider for item in record.related or ()]:
            domains.add(provider.domain.lower())
    return domains, topics


@pytest.fixture
def batch(tmp_path) -> list[Path]:
    # 600 files sharing ~50 providers and ~30 topics: every story races on them.
    return generate(tmp_path / "stories", 600, seed=7)


def test_overlapping_imports_at_the_same_time_end_without_duplicates_or_errors(transactional_db, batch):
    first = start_import(batch[:400])
    second = start_import(batch[200:])

    results = [finish(first), finish(second)]

    for code, _out, err in results:
        assert code == 0, err[-3000:]
        assert "Traceback" not in err
    assert Story.objects.count() == 600
    assert Story.objects.values("identity_key").distinct().count() == 600
    runs = list(ImportRun.objects.all())
    assert len(runs) == 2
    assert sum(run.created for run in runs) == 600
    assert sum(run.failed for run in runs) == 0
    domains, topics = providers_and_topics(batch)
    assert sorted(Provider.objects.values_list("domain", flat=True)) == sorted(domains)
    assert sorted(Topic.objects.values_list("name", flat=True)) == sorted(topics)


def test_imports_of_one_batch_in_opposite_orders_at_the_same_time_do_not_deadlock(transactional_db, batch):
    first = start_import(batch, jobs=2)
    second = start_import(list(reversed(batch)), jobs=2)

    results = [finish(first), finish(second)]

    for code, _out, err in results:
        assert code == 0, err[-3000:]
    assert Story.objects.count() == 600
    assert sum(run.created for run in ImportRun.objects.all()) == 600
