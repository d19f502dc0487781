"""The command line import at scale: parallel parsing, progress on a terminal, interrupt and rerun."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from bench.generate import generate
from providers.models import Provider
from stories.imports import references
from stories.imports.export import export_story, stories_for_export
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.models import Story, Topic
from tests.terminal import screen

BASE_DIR = Path(__file__).resolve().parents[2]


def snapshot() -> dict[str, str]:
    """Every story as the exporter writes it, by identity."""
    return {story.identity_key: export_story(story) for story in stories_for_export()}


def outcomes(directory: Path, *, jobs: int) -> list[tuple[str, str, str]]:
    results = []
    import_stories(
        iter_story_sources([str(directory)]),
        jobs=jobs,
        on_result=lambda r: results.append((r.path, r.outcome, r.reason)),
        keep_results=False,
    )
    return results


@pytest.fixture
def batch_with_a_bad_file(tmp_path) -> Path:
    directory = tmp_path / "batch"
    generate(directory, 60, seed=3)
    (directory / "2019-01-01-aaa-broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    (directory / "2019-01-02-bbb-not-http.md").write_text(
        '---\ntitle: "x"\nwebUrl: "javascript:alert(1)"\n---\n', encoding="utf-8"
    )
    return directory


@pytest.mark.django_db(transaction=True)
def test_parallel_parsing_gives_the_same_stories_and_results_in_the_same_order(batch_with_a_bad_file):
    serial = outcomes(batch_with_a_bad_file, jobs=1)
    serial_stories = snapshot()
    Story.objects.all().delete()

    parallel = outcomes(batch_with_a_bad_file, jobs=2)

    assert parallel == serial
    assert [outcome for _, outcome, _ in parallel].count("failed") == 2
    assert snapshot() == serial_stories
    assert len(serial_stories) == 60


@pytest.mark.django_db(transaction=True)
def test_a_run_that_forgets_its_providers_and_topics_between_chunks_writes_the_same_stories(
    batch_with_a_bad_file, monkeypatch
):
    outcomes(batch_with_a_bad_file, jobs=1)
    expected = snapshot()
    providers, topics = Provider.objects.count(), Topic.objects.count()
    Story.objects.all().delete()
    Provider.objects.all().delete()
    Topic.objects.all().delete()

    monkeypatch.setattr(references, "KEPT", 2)  # forgotten before nearly every chunk
    import_stories(iter_story_sources([str(batch_with_a_bad_file)]), chunk_files=7)

    assert snapshot() == expected
    assert (Provider.objects.count(), Topic.objects.count()) == (providers, topics)


@pytest.mark.django_db(transaction=True)
def test_parallel_reimport_recognises_unchanged_files(batch_with_a_bad_file):
    outcomes(batch_with_a_bad_file, jobs=2)

    again = outcomes(batch_with_a_bad_file, jobs=2)

    assert [outcome for _, outcome, _ in again].count("unchanged") == 60


@pytest.mark.django_db
def test_the_command_prints_no_progress_when_stderr_is_not_a_terminal(tmp_path):
    generate(tmp_path, 120, seed=4)
    out, err = io.StringIO(), io.StringIO()

    call_command("import_stories", str(tmp_path), "--jobs", "2", stdout=out, stderr=err)

    assert err.getvalue() == ""
    assert out.getvalue().strip() == "created 120, updated 0, unchanged 0, conflicts 0, failed 0"


@pytest.mark.django_db
def test_importing_half_a_batch_then_all_of_it_creates_each_story_once(tmp_path):
    files = generate(tmp_path / "all", 80, seed=5)
    half = tmp_path / "half"
    half.mkdir()
    for path in files[:40]:
        (half / path.name).write_bytes(path.read_bytes())
    call_command("import_stories", str(half), stdout=io.StringIO())

    out = io.StringIO()
    call_command("import_stories", str(tmp_path / "all"), "--jobs", "2", stdout=out)

    assert out.getvalue().strip() == "created 40, updated 0, unchanged 40, conflicts 0, failed 0"
    assert Story.objects.count() == 80
    out = io.StringIO()
    call_command("import_stories", str(tmp_path / "all"), stdout=out)
    assert out.getvalue().strip() == "created 0, updated 0, unchanged 80, conflicts 0, failed 0"


# --- the real command in a process of its own, on a scratch SQLite file -------------------


@pytest.fixture(scope="module")
def scratch_database(tmp_path_factory) -> tuple[str, Path]:
    path = tmp_path_factory.mktemp("scratch") / "db.sqlite3"
    url = f"sqlite:///{path}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=dict(os.environ, DATABASE_URL=url, DEBUG="1"),
        check=True,
    )
    return url, path


def command(*args: str) -> list[str]:
    return [sys.executable, "manage.py", "import_stories", *args]


def stories_in(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM stories_story").fetchone()[0]


def on_a_terminal(args: list[str], url: str) -> tuple[str, str, int]:
    """Run the command with stderr on a pseudo-terminal: what the terminal got, stdout, exit status."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        args,
        cwd=BASE_DIR,
        env=dict(os.environ, DATABASE_URL=url, DEBUG="1"),
        stdout=subprocess.PIPE,
        stderr=child,
    )
    os.close(child)
    terminal = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        terminal += chunk
    out, _ = process.communicate(timeout=60)
    os.close(main)
    return terminal.decode(), out.decode(), process.returncode


def test_the_command_draws_a_progress_bar_on_a_terminal(tmp_path, scratch_database):
    url, _ = scratch_database
    generate(tmp_path, 300, seed=6)

    terminal, out, status = on_a_terminal(command(str(tmp_path), "--jobs", "2"), url)

    assert status == 0
    assert "] 300/300 files 100%" in terminal
    assert "\r[" in terminal
    assert out.strip() == "created 300, updated 0, unchanged 0, conflicts 0, failed 0"


def test_a_failure_line_stands_alone_on_the_terminal_with_the_bar_drawn_again_below(
    tmp_path, scratch_database
):
    url, _ = scratch_database
    generate(tmp_path, 300, seed=9)
    broken = tmp_path / "2019-01-01-aaa-broken.md"
    broken.write_text('---\ntitle: "x"\nwebUrl: "javascript:alert(1)"\n---\n', encoding="utf-8")

    terminal, out, status = on_a_terminal(command(str(tmp_path), "--jobs", "2"), url)

    assert status == 1
    shown = screen(terminal)
    failure = next(line for line in shown if str(broken) in line)
    assert failure.startswith(f"{broken}: ")
    assert "files/s" not in failure and "[" not in failure
    assert "] 301/301 files 100%" in terminal.split(str(broken), 1)[1]
    assert out.strip() == "created 300, updated 0, unchanged 0, conflicts 0, failed 1"


@contextlib.contextmanager
def interruptible_children() -> Iterator[None]:
    """Processes started inside take Ctrl-C (SIGINT) the way they would from a terminal.

    A process inherits an ignored SIGINT, and Python then never turns it into KeyboardInterrupt:
    a test run a shell started in the background, without job control, ignores it. A handled
    signal is reset to its default in the new program, so handling it here for the moment is enough.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def blocked_reader(fifo: Path, process: subprocess.Popen, *, timeout: float = 120) -> int:
    """Wait until ``process`` is blocked opening ``fifo`` to read it; the write end, opened then.

    Opening the write end without blocking fails (ENXIO) until a reader is there. Kept open and
    never written, it leaves the reader waiting for data, as long as the caller likes.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        if process.poll() is not None:
            pytest.fail(f"the import ended before it reached {fifo.name}: {process.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"the import did not reach {fifo.name} in {timeout:.0f} s")
        time.sleep(0.05)


def test_an_interrupted_import_keeps_what_it_wrote_and_a_rerun_finishes_the_batch(tmp_path, scratch_database):
    url, path = scratch_database
    batch = tmp_path / "batch"
    files = sorted(generate(batch, 3000, seed=8))
    # A named pipe among the story files, in the middle of the batch: the import commits the
    # chunks before it, then waits to read it, and cannot finish before it is interrupted.
    fifo = batch / f"{files[1500].stem}-pipe.md"
    os.mkfifo(fifo)
    assert str(fifo) in [source.path for source in iter_story_sources([str(batch)])]
    env = dict(os.environ, DATABASE_URL=url, DEBUG="1")
    before = stories_in(path)

    with interruptible_children():
        process = subprocess.Popen(
            command(str(batch), "--jobs", "2"), cwd=BASE_DIR, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
    writer = blocked_reader(fifo, process)
    try:
        written_when_blocked = stories_in(path) - before
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        os.close(writer)

    assert process.returncode == 130, err[-2000:]
    assert "Interrupted" in err and "Traceback" not in err
    written = stories_in(path) - before
    assert 0 < written == written_when_blocked < 1500
    with sqlite3.connect(path) as conn:  # every story that is there is whole: chunks are atomic
        orphans = conn.execute(
            "SELECT count(*) FROM stories_story s WHERE NOT EXISTS "
            "(SELECT 1 FROM stories_storytopic t WHERE t.story_id = s.id)"
        ).fetchone()[0]
    assert orphans == 0

    fifo.unlink()
    rerun = subprocess.run(
        command(str(batch), "--jobs", "2"), cwd=BASE_DIR, env=env, capture_output=True, text=True
    )

    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert rerun.stdout.strip() == (
        f"created {3000 - written}, updated 0, unchanged {written}, conflicts 0, failed 0"
    )
    assert stories_in(path) - before == 3000
