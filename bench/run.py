"""Import benchmark: parse-only time, full import, unchanged and 10 %-changed re-imports.

For each requested batch size N the script

1. writes N synthetic story files (``bench/generate.py``) into a temporary directory;
2. creates a throwaway database on the configured engine: a temporary SQLite file by
   default, or a ``bench_<pid>_<n>`` database on the PostgreSQL server ``DATABASE_URL``
   points at (the database named in the URL is never touched) — and migrates it;
3. runs each phase in a fresh child process, so that peak memory is that phase's own:
   parse only (every file through ``stories.storyfile`` with the C loader, one process;
   the ratios are to this time), a reference row with bare ``yaml.load`` of the front matter,
   ``import_stories`` of the whole batch, the same command again on the unchanged batch,
   then again after 10 % of the files were rewritten as newer versions;
4. prints a table: seconds, ratio to parse-only, peak RSS of the importing process and of
   its largest parse worker, SQL queries and queries per story.

Usage: ``python bench/run.py [-n 2000 -n 10000] [--jobs 2]`` (or ``make bench``).
Each phase checks the command's summary (created/updated/unchanged counts); a wrong
count fails the benchmark instead of producing a flattering figure.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.generate import generate, revise  # noqa: E402

SUMMARY = re.compile(r"created (\d+), updated (\d+), unchanged (\d+)(?:, conflicts (\d+))?, failed (\d+)")


@dataclass
class Phase:
    name: str
    seconds: float
    cpu_seconds: float
    rss_mb: float
    worker_rss_mb: float
    queries: int
    stories: int
    summary: str = ""
    db_cpu_seconds: float | None = None  # the PostgreSQL server process of the phase's connection

    @property
    def queries_per_story(self) -> float:
        return self.queries / self.stories if self.stories else 0.0


# --- child side: one phase, in a process of its own -------------------------------------


def _peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _process_cpu_seconds(pid: int) -> float | None:
    """CPU time of another process on this machine (None: not readable, e.g. a remote server)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the parse workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _child(phase: str, directory: Path, jobs: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    # Count files without holding their names (os.walk lists a directory at once): the
    # harness must not grow with N either.
    stories = _count_files(directory)
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    summary = ""
    backend = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    db_before = _process_cpu_seconds(backend) if backend else None
    cpu_before = _cpu_seconds()
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        if phase == "parse":
            _parse_only(directory)
        elif phase == "yaml":
            _yaml_only(directory)
        else:
            out, err = io.StringIO(), io.StringIO()
            try:
                call_command("import_stories", str(directory), jobs=jobs, stdout=out, stderr=err)
            except SystemExit as exit_:  # exit status 1 means some files failed
                if exit_.code not in (0, None):
                    raise RuntimeError(f"import_stories failed:\n{err.getvalue()[-2000:]}") from None
            summary = out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else ""
        seconds = time.perf_counter() - started
    db_after = _process_cpu_seconds(backend) if backend else None
    for thread in threading.enumerate():  # let the worker pool reap its processes before counting
        if thread is not threading.main_thread():
            thread.join(timeout=30)
    return {
        "seconds": seconds,
        "cpu_seconds": _cpu_seconds() - cpu_before,
        "rss_mb": _peak_rss_mb(resource.RUSAGE_SELF),
        "worker_rss_mb": _peak_rss_mb(resource.RUSAGE_CHILDREN),
        "queries": queries,
        "stories": stories,
        "summary": summary,
        "db_cpu_seconds": db_after - db_before if db_before is not None and db_after is not None else None,
    }


def _count_files(directory: Path) -> int:
    count = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            count += _count_files(Path(entry.path)) if entry.is_dir() else 1
    return count


def _parse_only(directory: Path) -> None:
    from stories import storyfile
    from stories.imports.sources import iter_story_sources

    for source in iter_story_sources([str(directory)]):
        storyfile.parse_story(source.read(), path=source.path)


def _yaml_only(directory: Path) -> None:
    """Reference only: libyaml's own speed on the front matter, without validation or records."""
    import yaml

    from stories.imports.sources import iter_story_sources

    for source in iter_story_sources([str(directory)]):
        front = source.read().decode("utf-8").split("---", 2)[1]
        yaml.load(front, Loader=yaml.CSafeLoader)  # noqa: S506 - CSafeLoader is the safe loader


# --- parent side --------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_database(base_url: str, workdir: Path, label: str) -> Iterator[str]:
    """A fresh, empty database URL on the configured engine, dropped afterwards."""
    parts = urlsplit(base_url)
    if parts.scheme not in {"postgres", "postgresql"}:
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"  # absolute path: sqlite:////tmp/...
        return
    import psycopg

    name = f"bench_{os.getpid()}_{label}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _child_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    # Production-like settings: DEBUG off (no query log), a throwaway key if none is set.
    env["DEBUG"] = "0"
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH", "")]))
    return env


def _run_phase(name: str, phase: str, directory: Path, env: dict[str, str], jobs: int) -> Phase:
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, str(directory)]
    command += ["--jobs", str(jobs)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Phase(name=name, **result)


def _expect(phase: Phase, *, created: int = 0, updated: int = 0, unchanged: int = 0) -> None:
    match = SUMMARY.search(phase.summary)
    if not match:
        raise SystemExit(f"{phase.name}: no summary line from import_stories: {phase.summary!r}")
    got = tuple(int(x or 0) for x in match.groups())
    if got != (created, updated, unchanged, 0, 0):
        raise SystemExit(
            f"{phase.name}: expected created {created}, updated {updated}, unchanged {unchanged}, "
            f"conflicts 0, failed 0; the command said {phase.summary!r}"
        )


def bench_one(count: int, *, jobs: int, seed: int, base_url: str) -> list[Phase]:
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-") as tmp:
        workdir = Path(tmp)
        files = workdir / "stories"
        generate(files, count, seed=seed)
        with throwaway_database(base_url, workdir, str(count)) as url:
            env = _child_env(url)
            subprocess.run(
                [sys.executable, str(BASE_DIR / "manage.py"), "migrate", "--noinput", "-v", "0"],
                env=env,
                check=True,
                cwd=BASE_DIR,
            )
            parse = _run_phase("parse only (C loader, 1 process)", "parse", files, env, jobs)
            raw = _run_phase("  reference: bare yaml.load", "yaml", files, env, jobs)
            full = _run_phase(f"full import (--jobs {jobs})", "import", files, env, jobs)
            _expect(full, created=count)
            again = _run_phase("re-import, unchanged", "import", files, env, jobs)
            _expect(again, unchanged=count)
            changed = revise(files, count, fraction=0.1, seed=seed)
            tenth = _run_phase("re-import, 10% changed", "import", files, env, jobs)
            _expect(tenth, updated=changed, unchanged=count - changed)
    return [parse, raw, full, again, tenth]


def format_table(count: int, engine: str, phases: list[Phase]) -> str:
    parse_seconds = phases[0].seconds or 1e-9
    header = (
        f"{'phase':<34} {'seconds':>8} {'x parse':>8} {'CPU s':>7} {'db CPU s':>9} {'peak RSS MB':>12} "
        f"{'worker RSS MB':>14} {'queries':>9} {'queries/story':>14}"
    )
    lines = [f"N = {count:,} on {engine}", header, "-" * len(header)]
    for phase in phases:
        lines.append(
            f"{phase.name:<34} {phase.seconds:>8.2f} {phase.seconds / parse_seconds:>8.2f} "
            f"{phase.cpu_seconds:>7.2f} "
            f"{'-' if phase.db_cpu_seconds is None else format(phase.db_cpu_seconds, '.2f'):>9} "
            f"{phase.rss_mb:>12.1f} {phase.worker_rss_mb:>14.1f} {phase.queries:>9,} "
            f"{phase.queries_per_story:>14.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n",
        "--count",
        type=int,
        action="append",
        help="batch size; repeat to compare memory across sizes (default: 2000 and 10000)",
    )
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="parse workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phase", choices=["parse", "yaml", "import"], help=argparse.SUPPRESS)
    parser.add_argument("directory", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:
        print(json.dumps(_child(args.phase, args.directory, args.jobs)))
        return 0

    counts = args.count or [2_000, 10_000]
    if any(count < 10 for count in counts):
        parser.error("--count must be at least 10 (10 % of the batch is rewritten)")
    base_url = os.environ.get("DATABASE_URL", "")
    engine = "PostgreSQL" if urlsplit(base_url).scheme in {"postgres", "postgresql"} else "SQLite"
    tables = []
    for count in counts:
        phases = bench_one(count, jobs=args.jobs, seed=args.seed, base_url=base_url)
        tables.append((count, phases))
        print(format_table(count, engine, phases), end="\n\n", flush=True)
    if len(tables) > 1:
        peaks = ", ".join(f"N={count:,}: {max(p.rss_mb for p in phases):.1f} MB" for count, phases in tables)
        print(f"peak RSS of the importing process by batch size: {peaks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
