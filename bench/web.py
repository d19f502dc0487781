"""Web benchmark: every reader and staff page under gunicorn, against a trivial view of the same server.

The script

1. creates a throwaway PostgreSQL database (``bench_<pid>_web<N>`` on the server ``DATABASE_URL``
   names; the database in the URL is never touched), migrates it, and writes N stories into it
   in bulk, in a child process: providers (one per 20 stories, skewed so that some publish a
   lot), topics (up to 400, skewed too), 1-3 topics per story, lead images, the long related
   lists of cluster leads, a mix of states with most published, scheduled and expired stories,
   heat and quality with nulls. Then ``VACUUM ANALYZE``, as autovacuum would have left a
   long-lived table;
2. serves it with gunicorn (2 sync workers, DEBUG off) on a free loopback port, with
   ``CACHE_URL`` pointing at a Redis database of its own;
3. counts the SQL queries of one request to each page in a child process that runs the same
   settings in-process (Django's test client and ``CaptureQueriesContext``), cold (caches
   cleared) and warm;
4. times K requests to each page over HTTP, cold (every cache cleared before each request,
   by a child process through Django's cache API) and warm, and divides each p50 by the p50
   of ``/healthz/``, the trivial view, measured the same way in the same run;
5. measures requests/s for home and the trivial view under a bounded load: C client threads
   for S seconds each;
6. prints a table (or JSON with ``--json``), drops the database.

Usage: ``python bench/web.py [-n 100000] [--requests 30] [--json]`` (or ``make bench-web``).
Every response is checked: a page answering anything but its expected status (200, or 304 for
the conditional request) stops the benchmark, since a fast error page is not a result.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.run import throwaway_database  # noqa: E402
from bench.webdata import COMMON_WORD, RARE_WORD, write_stories  # noqa: E402

HOST = "127.0.0.1"
WORKERS = 2
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/7"
STAFF_USERNAME = "bench-moderator"


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    staff: bool = False  # requested with the staff user's session cookie
    conditional: bool = False  # requested with If-None-Match: the ETag home answered

    @property
    def expected_status(self) -> int:
        return 304 if self.conditional else 200


@dataclass
class Timing:
    p50_ms: float
    p95_ms: float
    ratio: float | None = None  # p50 over the trivial view's p50 in the same mode


@dataclass
class PageResult:
    name: str
    path: str
    status: int
    bytes: int
    queries_cold: int
    queries_warm: int
    cold: Timing | None
    warm: Timing


# --- children: Django inside, on the server's settings and database -----------------------


def _django_child() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    django.setup()


def clear_caches() -> None:
    from django.core.cache import caches

    for cache in caches.all(initialized_only=False):
        cache.clear()


def cache_description() -> dict:
    """The server's caches as its settings make them, and whether another process can clear them."""
    from django.conf import settings

    backends = {alias: config["BACKEND"] for alias, config in settings.CACHES.items()}
    locations = {alias: str(config.get("LOCATION", "")) for alias, config in settings.CACHES.items()}
    per_process = [alias for alias, backend in backends.items() if backend.endswith("LocMemCache")]
    return {"backends": backends, "locations": locations, "shared": not per_process}


def _load(count: int, seed: int) -> dict:
    """Child: write the stories, a staff user and the planner statistics; name the pages to measure."""
    _django_child()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.db.models import Count
    from django.urls import reverse

    from providers.models import Provider
    from stories.models import Story, Topic

    written = write_stories(count, seed=seed)
    staff = get_user_model().objects.create_user(
        username=STAFF_USERNAME, password=secrets.token_urlsafe(24), is_staff=True
    )
    staff.groups.add(Group.objects.get(name="Moderators"))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    # The pages: URLs from the project's own names, targets from the rows just written.
    live = Story.objects.live()
    topic = (
        Topic.objects.filter(story_topics__story__in=live)
        .annotate(live_stories=Count("story_topics"))
        .order_by("-live_stories", "pk")
        .first()
    )
    provider = (
        Provider.objects.filter(stories__in=live).annotate(n=Count("stories")).order_by("-n", "pk").first()
    )
    story = (
        live.annotate(links=Count("related_links"))
        .filter(links__gt=0)
        .order_by("-published_at", "-pk")
        .first()
        or live.order_by("-published_at", "-pk").first()
    )
    home = reverse("stories:home")
    search = reverse("stories:search")
    changelist = reverse("admin:stories_story_changelist")
    pages = [
        Page("trivial view", reverse("healthz")),
        Page("home", home),
        Page("home ?sort=hot", f"{home}?sort=hot"),
        Page("home ?sort=top", f"{home}?sort=top"),
        Page("topic page", reverse("stories:topic", kwargs={"slug": topic.slug})),
        Page("provider page", reverse("stories:provider", kwargs={"domain": provider.domain})),
        Page("feed RSS", reverse("stories:feed_rss")),
        Page("feed Atom", reverse("stories:feed_atom")),
        Page("sitemap.xml", reverse("sitemap")),
        Page("sitemap section", reverse("sitemap_section", kwargs={"section": "stories"})),
        Page(f'search "{COMMON_WORD}"', f"{search}?q={COMMON_WORD}"),
        Page(f'search "{RARE_WORD}"', f"{search}?q={RARE_WORD}"),
        Page("story page", reverse("stories:detail", kwargs={"pk": story.pk})),
        Page("home, 304", home, conditional=True),
        Page("admin changelist", changelist, staff=True),
        Page(f"admin changelist ?q={COMMON_WORD}", f"{changelist}?q={COMMON_WORD}", staff=True),
        Page("moderation queue", reverse("moderation:queue"), staff=True),
    ]
    return {
        **written,
        "live": live.count(),
        "postgres": connection.pg_version,
        "pages": [asdict(page) for page in pages],
    }


def _queries(pages: list[Page]) -> dict:
    """Child: one request to each page in-process, on the server's settings and database.

    Cold: every cache cleared just before. Warm: the same request again. Also makes the staff
    user's session, whose cookie the timed requests carry.
    """
    _django_child()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    reader, staff = Client(HTTP_HOST=HOST), Client(HTTP_HOST=HOST)
    staff.force_login(get_user_model().objects.get(username=STAFF_USERNAME))
    etag = reader.get(next(page.path for page in pages if page.conditional)).headers.get("ETag", "")
    counted = {}
    for page in pages:
        client = staff if page.staff else reader
        headers = {"If-None-Match": etag} if page.conditional else {}
        counts = []
        for clear in (True, False):
            if clear:
                clear_caches()
            with CaptureQueriesContext(connection) as captured:
                response = client.get(page.path, headers=headers)
            if response.status_code != page.expected_status:
                raise RuntimeError(f"{page.name}: {page.path} answered {response.status_code} in-process")
            counts.append(len(captured))
        counted[page.name] = counts
    return {
        "queries": counted,
        "session": staff.cookies[settings.SESSION_COOKIE_NAME].value,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "etag": etag,
        "cache": cache_description(),
    }


def _cache_keeper() -> None:
    """Child: clears every cache through Django's cache API each time a line arrives on stdin."""
    _django_child()
    print("ready", flush=True)
    for _ in sys.stdin:
        clear_caches()
        print("cleared", flush=True)


class CacheKeeper:
    """A child process with the server's settings that clears its caches on request."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--phase", "cache-keeper"],
            env=env,
            cwd=BASE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("the cache keeper did not start")

    def clear(self) -> None:
        self.process.stdin.write("clear\n")
        self.process.stdin.flush()
        if self.process.stdout.readline().strip() != "cleared":
            raise SystemExit("the cache keeper stopped")

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


# --- parent: HTTP on loopback -----------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes, float]:
    """One GET on a new connection (gunicorn's sync workers close each one); its status, body, seconds."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=600)
    try:
        connection.request("GET", path, headers={"Host": HOST, **headers})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return response.status, body, time.perf_counter() - started


def _headers(page: Page, session: str, etag: str) -> dict[str, str]:
    headers = {}
    if page.staff:
        headers["Cookie"] = session
    if page.conditional:
        headers["If-None-Match"] = etag
    return headers


def time_page(
    page: Page, *, port: int, headers: dict[str, str], requests: int, before=None
) -> tuple[Timing, int, int]:
    """``requests`` timed GETs (``before`` runs ahead of each, untimed); p50/p95, body size, status."""
    samples, size = [], 0
    for _ in range(requests):
        if before:
            before()
        status, body, seconds = fetch(port, page.path, headers)
        if status != page.expected_status:
            raise SystemExit(f"{page.name}: {page.path} answered {status}, expected {page.expected_status}")
        samples.append(seconds)
        size = len(body)
    timing = Timing(p50_ms=1000 * statistics.median(samples), p95_ms=1000 * percentile(samples, 0.95))
    return timing, size, status


def requests_per_second(
    page: Page, *, port: int, headers: dict[str, str], clients: int, seconds: float, limit: int
) -> float:
    """Completed requests per second with ``clients`` threads for ``seconds`` (at most ``limit`` requests)."""
    deadline = time.perf_counter() + seconds
    done, lock = 0, threading.Lock()

    def client() -> int:
        nonlocal done
        ok = 0
        while time.perf_counter() < deadline:
            with lock:
                if done >= limit:
                    break
                done += 1
            status, _, _ = fetch(port, page.path, headers)
            if status != page.expected_status:
                raise SystemExit(f"under load, {page.path} answered {status}")
            ok += 1
        return ok

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        completed = sum(pool.map(lambda _: client(), range(clients)))
    return completed / (time.perf_counter() - started)


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log: Path) -> Iterator[int]:
    """gunicorn serving the project on a free loopback port; yields the port once /healthz/ answers."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "newsroom.wsgi:application", "--bind", f"{HOST}:{port}"]
    command += ["--workers", str(WORKERS), "--timeout", "300", "--error-logfile", str(log)]
    with log.open("ab") as output:
        server = subprocess.Popen(command, env=env, cwd=BASE_DIR, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if fetch(port, "/healthz/", {})[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def server_env(database_url: str, cache_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "ALLOWED_HOSTS": HOST,
            # Plain HTTP on loopback: no redirect to HTTPS, cookies not restricted to it.
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(BASE_DIR), os.environ.get("PYTHONPATH", "")])),
        }
    )
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    if cache_url:
        env["CACHE_URL"] = cache_url
    else:
        env.pop("CACHE_URL", None)
    return env


def _run_child(phase: str, env: dict[str, str], *args: str) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, *args]
    done = subprocess.run(command, env=env, cwd=BASE_DIR, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench(args: argparse.Namespace, base_url: str) -> dict:
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="newsroom-bench-web-") as tmp,
        throwaway_database(base_url, Path(tmp), f"web{args.count}") as url,
    ):
        env = server_env(url, args.cache_url)
        subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), "migrate", "--noinput", "-v", "0"],
            env=env,
            cwd=BASE_DIR,
            check=True,
        )
        data = _run_child("load", env, "--count", str(args.count), "--seed", str(args.seed))
        pages = [Page(**page) for page in data.pop("pages")]
        with gunicorn(env, Path(tmp) / "gunicorn.log") as port:
            counted = _run_child("queries", env, "--pages", json.dumps([asdict(page) for page in pages]))
            session = f"{counted['session_cookie']}={counted['session']}"
            keeper = CacheKeeper(env)
            try:
                results = measure(
                    pages, port=port, counted=counted, keeper=keeper, args=args, session=session
                )
            finally:
                keeper.close()
            trivial, home = pages[0], pages[1]
            load = {
                page.name: requests_per_second(
                    page,
                    port=port,
                    headers={},
                    clients=args.concurrency,
                    seconds=args.load_seconds,
                    limit=args.load_limit,
                )
                for page in (trivial, home)
            }
    return {
        "data": data,
        "cache": counted["cache"],
        "requests": args.requests,
        "workers": WORKERS,
        "concurrency": args.concurrency,
        "load_seconds": args.load_seconds,
        "load_average": [load_before[0], os.getloadavg()[0]],
        "pages": [asdict(result) for result in results],
        "requests_per_second": load,
    }


def measure(
    pages: list[Page],
    *,
    port: int,
    counted: dict,
    keeper: CacheKeeper,
    args: argparse.Namespace,
    session: str,
) -> list[PageResult]:
    cold_measurable = counted["cache"]["shared"]
    # A worker's first request to a view imports and compiles what the view needs: that is
    # start-up, not the page. Each worker is likely to have served each page after this.
    for page in pages:
        for _ in range(2 * WORKERS):
            fetch(port, page.path, _headers(page, session, counted["etag"]))
    results = []
    for page in pages:
        headers = _headers(page, session, counted["etag"])
        cold = None
        if cold_measurable:
            cold, _, _ = time_page(
                page, port=port, headers=headers, requests=args.requests, before=keeper.clear
            )
        fetch(port, page.path, headers)  # warms the cache for this page
        warm, size, status = time_page(page, port=port, headers=headers, requests=args.requests)
        queries_cold, queries_warm = counted["queries"][page.name]
        results.append(PageResult(page.name, page.path, status, size, queries_cold, queries_warm, cold, warm))
    trivial = results[0]
    for result in results:
        result.warm.ratio = result.warm.p50_ms / trivial.warm.p50_ms
        if result.cold and trivial.cold:
            result.cold.ratio = result.cold.p50_ms / trivial.cold.p50_ms
    return results


# --- the report ---------------------------------------------------------------------------


def format_report(report: dict) -> str:
    data, cache = report["data"], report["cache"]
    backends = ", ".join(
        f"{backend.rsplit('.', 1)[-1]} {report['cache']['locations'][alias]}".strip()
        for alias, backend in cache["backends"].items()
    )
    before, after = report["load_average"]
    lines = [
        f"N = {data['stories']:,} stories ({data['live']:,} live, {data['providers']:,} providers, "
        f"{data['topics']:,} topics, {data['related_links']:,} related links; written in "
        f"{data['seconds']:.0f} s) on PostgreSQL {data['postgres'] // 10000}.{data['postgres'] % 10000}",
        f"gunicorn, {report['workers']} sync workers, DEBUG off; cache: {backends}; "
        f"{report['requests']} requests per page and mode; "
        f"load average {before:.2f} before, {after:.2f} after",
    ]
    if not cache["shared"]:
        lines.append(
            "cold: not measured, the server's cache lives inside each worker (set CACHE_URL to Redis); "
            "query counts are still cold and warm"
        )
    header = (
        f"{'page':<26} {'status':>6} {'bytes':>9} {'queries':>9} "
        f"{'cold p50':>9} {'p95':>8} {'x triv':>7} {'warm p50':>9} {'p95':>8} {'x triv':>7}  path"
    )
    lines += [header, "-" * (len(header) + 30)]
    for page in report["pages"]:
        cold, warm = page["cold"], page["warm"]
        cold_cells = (
            f"{cold['p50_ms']:>9.1f} {cold['p95_ms']:>8.1f} {cold['ratio']:>7.1f}"
            if cold
            else f"{'-':>9} {'-':>8} {'-':>7}"
        )
        queries = f"{page['queries_cold']}/{page['queries_warm']}"
        lines.append(
            f"{page['name']:<26} {page['status']:>6} {page['bytes']:>9,} {queries:>9} {cold_cells} "
            f"{warm['p50_ms']:>9.1f} {warm['p95_ms']:>8.1f} {warm['ratio']:>7.1f}  {page['path']}"
        )
    rates = report["requests_per_second"]
    trivial_name, home_name = report["pages"][0]["name"], report["pages"][1]["name"]
    trivial_rate, home_rate = rates[trivial_name], rates[home_name]
    lines.append(
        f"under load ({report['concurrency']} client threads, {report['load_seconds']:g} s each, warm): "
        f"trivial view {trivial_rate:,.1f} req/s, home {home_rate:,.1f} req/s "
        f"= {100 * home_rate / trivial_rate:.1f}% of the trivial view"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=100_000, help="stories (default 100,000)")
    parser.add_argument("-k", "--requests", type=int, default=30, help="timed requests per page and mode")
    parser.add_argument("-c", "--concurrency", type=int, default=4, help="client threads of the load test")
    parser.add_argument("--load-seconds", type=float, default=10.0, help="length of each load test")
    parser.add_argument(
        "--load-limit", type=int, default=100_000, help="at most this many requests per load test"
    )
    parser.add_argument(
        "--cache-url",
        default=DEFAULT_CACHE_URL,
        help=f"CACHE_URL of the server (default {DEFAULT_CACHE_URL}, flushed for cold requests; '' for none)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of the table")
    parser.add_argument("--phase", choices=["load", "queries", "cache-keeper"], help=argparse.SUPPRESS)
    parser.add_argument("--pages", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase == "load":
        print(json.dumps(_load(args.count, args.seed), default=str))
        return 0
    if args.phase == "queries":
        print(json.dumps(_queries([Page(**page) for page in json.loads(args.pages)])))
        return 0
    if args.phase == "cache-keeper":
        _cache_keeper()
        return 0

    if args.count < 10:
        parser.error("--count must be at least 10")
    if min(args.requests, args.concurrency, args.load_limit) < 1 or args.load_seconds <= 0:
        parser.error("--requests, --concurrency and --load-limit must be at least 1, --load-seconds above 0")
    base_url = os.environ.get("DATABASE_URL", "")
    if urlsplit(base_url).scheme not in {"postgres", "postgresql"}:
        parser.error("the web benchmark needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/name")
    report = bench(args, base_url)
    print(json.dumps(report, indent=2) if args.json else format_report(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
