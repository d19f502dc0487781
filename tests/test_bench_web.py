"""The web benchmark runs end to end on a tiny table, so it never rots.

Its figures are not asserted (no timing assertions in tests): only that every page was
measured, answered as expected, and that the numbers are of a sane kind. The script itself
stops on any page that answers with an unexpected status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from bench.web import format_report

BASE_DIR = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the web benchmark serves a PostgreSQL database"
    ),
]

READER_PAGES = (
    "trivial view",
    "home",
    "home ?sort=hot",
    "home ?sort=top",
    "topic page",
    "provider page",
    "feed RSS",
    "feed Atom",
    "sitemap.xml",
    "sitemap section",
    'search "azure"',
    'search "zeitgeist"',
    "story page",
    "home, 304",
)
STAFF_PAGES = ("admin changelist", "admin changelist ?q=azure", "moderation queue")


def server_url() -> str:
    """The PostgreSQL server the tests use; the benchmark makes its own database there."""
    settings = connection.settings_dict
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    return (
        f"postgres://{quote(settings['USER'] or 'postgres', safe='')}{password}@"
        f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/postgres"
    )


@pytest.fixture(scope="module")
def report() -> dict:
    command = [sys.executable, str(BASE_DIR / "bench" / "web.py"), "-n", "50", "--requests", "3"]
    command += ["--concurrency", "2", "--load-seconds", "0.5", "--json"]
    done = subprocess.run(
        command,
        env=dict(os.environ, DATABASE_URL=server_url()),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_every_page_is_measured_in_order(report):
    assert [page["name"] for page in report["pages"]] == [*READER_PAGES, *STAFF_PAGES]


def test_every_page_answered_its_own_content(report):
    pages = {page["name"]: page for page in report["pages"]}
    assert pages["home, 304"]["status"] == 304 and pages["home, 304"]["bytes"] == 0
    assert pages["trivial view"]["bytes"] == len(b"ok")
    for name in (*READER_PAGES, *STAFF_PAGES):
        if name not in {"home, 304", "trivial view"}:
            assert pages[name]["status"] == 200, name
            assert pages[name]["bytes"] > 200, name


def test_timings_and_ratios_are_sane(report):
    for page in report["pages"]:
        timings = [page["warm"]] + ([page["cold"]] if page["cold"] else [])
        for timing in timings:
            assert 0 < timing["p50_ms"] <= timing["p95_ms"], page["name"]
            assert timing["ratio"] > 0, page["name"]
    assert report["pages"][0]["warm"]["ratio"] == 1.0


def test_cold_figures_exist_whenever_the_cache_is_shared(report):
    colds = [page["cold"] is not None for page in report["pages"]]
    assert colds == [report["cache"]["shared"]] * len(colds)


def test_query_counts_come_from_the_server_side(report):
    pages = {page["name"]: page for page in report["pages"]}
    assert pages["trivial view"]["queries_cold"] == pages["trivial view"]["queries_warm"] == 0
    for name in (*READER_PAGES[1:], *STAFF_PAGES):
        assert pages[name]["queries_cold"] >= 1, name
        assert 0 <= pages[name]["queries_warm"] <= pages[name]["queries_cold"], name


def test_the_load_test_completed_requests(report):
    rates = report["requests_per_second"]
    assert set(rates) == {"trivial view", "home"}
    assert all(rate > 0 for rate in rates.values())


def test_the_table_has_a_row_for_every_page(report):
    table = format_report(report)
    rows = table.splitlines()
    for name in (*READER_PAGES, *STAFF_PAGES):
        assert any(row.startswith(name + " ") for row in rows), name
    assert "x triv" in table and "under load" in rows[-1]
    assert rows[0].startswith("N = 50 stories")
