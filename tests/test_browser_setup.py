"""Without Chromium the suite still passes: browser tests skip under one line, unless CI requires them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def path_without_chromium() -> str:
    kept = [
        directory
        for directory in os.environ.get("PATH", "").split(os.pathsep)
        if not any((Path(directory) / name).exists() for name in ("chromium", "chromedriver"))
    ]
    path = os.pathsep.join(kept)
    assert shutil.which("chromium", path=path) is None and shutil.which("chromedriver", path=path) is None
    return path


def run_browser_tests(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "NEWSROOM_REQUIRE_BROWSER"}
    environment.update(
        PATH=path_without_chromium(),
        DEBUG="1",
        # Never the database of the run that started this one, should a test get that far.
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "browser", "tests"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture(scope="module")
def without_chromium(tmp_path_factory) -> subprocess.CompletedProcess:
    return run_browser_tests(tmp_path_factory.mktemp("without-chromium"))


def test_without_chromium_browser_tests_skip_and_the_run_passes(without_chromium):
    assert without_chromium.returncode == 0, without_chromium.stdout[-3000:]
    last_line = without_chromium.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ skipped, \d+ deselected in [\d.]+s", last_line)


def test_without_chromium_one_line_says_how_to_enable_browser_tests(without_chromium):
    skipped = [line for line in without_chromium.stdout.splitlines() if line.startswith("SKIPPED")]

    assert len(skipped) == 1
    assert "install the Debian packages chromium chromium-driver" in skipped[0]
    assert "NEWSROOM_REQUIRE_BROWSER=1" in skipped[0]


def test_when_the_environment_requires_a_browser_its_absence_fails_the_run(tmp_path):
    result = run_browser_tests(tmp_path, NEWSROOM_REQUIRE_BROWSER="1")

    assert result.returncode == 1
    assert re.fullmatch(r"\d+ deselected, \d+ errors? in [\d.]+s", result.stdout.strip().splitlines()[-1])
    assert "install the Debian packages chromium chromium-driver" in result.stdout
