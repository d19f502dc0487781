"""Image settings come from the environment and fail loudly on bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from newsroom.settings import env

ROOT = Path(__file__).resolve().parents[2]


def settings_error(**env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import newsroom.settings"],
        cwd=ROOT, env={**os.environ, "DEBUG": "1", **env}, capture_output=True, text=True, check=False,
    )
    assert result.returncode != 0
    return result.stderr


def test_a_bad_fallback_fails_loudly():
    error = settings_error(NEWSROOM_IMAGE_FALLBACK="sometimes")
    assert "NEWSROOM_IMAGE_FALLBACK must be remote or none" in error


def test_bad_widths_fail_loudly():
    error = settings_error(NEWSROOM_IMAGE_WIDTHS="320,big")
    assert "NEWSROOM_IMAGE_WIDTHS must be positive integers" in error


def test_a_bad_timeout_fails_loudly(monkeypatch):
    monkeypatch.setenv("SOME_TIMEOUT", "soon")
    with pytest.raises(ImproperlyConfigured):
        env.float("SOME_TIMEOUT", 1.0)
    monkeypatch.setenv("SOME_TIMEOUT", "0.25")
    assert env.float("SOME_TIMEOUT", 1.0) == 0.25

