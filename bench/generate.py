"""Synthetic story files shaped like the real corpus, for the import benchmark.

The shapes follow ``../shared/realdata/SURVEY.md`` and the sample in ``seeds/sample``:

* most files are ~1.5 KB articles with ``originalUrl``, one lead image, 1-3 topics
  and a provider with a 50x50 logo (``provider.images``, ~84 %);
* ~3 % are videos: no ``webUrl``, an ``originalUrl`` and a ``featuredContent`` iframe;
* ~6 % carry the ``ampWebUrl``/``cdnAmpWebUrl`` pair, ~7 % have no ``images``;
* ~2 % are cluster leads with a long ``related`` list (20-71 entries, like the sample),
  ``heat: -1`` and ``published: false`` on most of them;
* ~7 % are written with CRLF line endings;
* many providers (one per 20 stories, at least 50) and a few hundred topics;
* curly quotes, ``\\"`` escapes and literal ``\\n`` escapes inside quoted strings (not titles).

Story ``i`` is a pure function of ``(seed, i, revision)``: the same arguments give the same
bytes, and ``revision`` changes only what a newer version of a real file changes (excerpt,
heat, ``secured``), never the story's identity (its URLs, title and date).

Usage: ``python bench/generate.py OUT_DIR -n 10000 [--seed 1] [--revise 0.1]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORDS = (
    "power apps azure copilot data cloud model release wave preview update security teams "
    "developer platform agent workflow automation portal analytics insight customer partner "
    "dataverse connector licence governance pipeline studio mobile offline canvas component "
    "report dashboard integration migration enterprise startup funding research launch "
    "announces unveils expands improves delivers simplifies accelerates secures transforms"
).split()
FLAVOUR = ("“quoted”", "’s", " – ", " • ", "&amp;", "&#8217;", "™", '\\"escaped\\"', "\\n")
TLDS = ("com", "net", "org", "io", "news", "co.uk", "de")
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)

RELATED_SIZES = (20, 26, 28, 39, 43, 71)


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def sentence(rng: random.Random, low: int, high: int) -> str:
    text = _words(rng, low, high)
    if rng.random() < 0.3:
        text += rng.choice(FLAVOUR) + _words(rng, 2, 6)
    return text[:1].upper() + text[1:]


def headline(rng: random.Random) -> str:
    # Titles are one line: the real ones never hold a line break (excerpts do), and the format refuses one.
    return sentence(rng, 5, 12).replace("\\n", " ")


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar. ``text`` may already hold backslash escapes on purpose."""
    escaped = json.dumps(text.replace('\\"', "\x00").replace("\\n", "\x01"), ensure_ascii=False)
    return escaped.replace("\\u0000", '\\"').replace("\\u0001", "\\n")


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def provider_identity(index: int) -> tuple[str, str]:
    rng = random.Random(f"provider-{index}")
    name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {index}"
    domain = f"{rng.choice(WORDS)}{index}.{rng.choice(TLDS)}"
    if index % 17 == 0:
        name = f"{rng.choice(WORDS).title()}'s Blog {index}"  # plain scalar with an apostrophe
    return name, domain


def topic_name(index: int) -> str:
    rng = random.Random(f"topic-{index}")
    return f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {index}"


def story_text(index: int, *, total: int, seed: int = 1, revision: int = 0) -> tuple[str, str]:
    """The file name and the text of synthetic story ``index`` (line endings already applied)."""
    rng = random.Random(f"{seed}-{index}")
    changes = random.Random(f"{seed}-{index}-r{revision}")
    providers = max(50, total // 20)
    topics = max(30, min(400, total // 25))

    published_at = EPOCH + timedelta(minutes=37 * index + rng.randint(0, 36))
    provider_name, provider_domain = provider_identity(rng.randrange(providers))
    slug = "-".join(_words(rng, 4, 8).split()) + f"-{index}"
    title = headline(rng)
    is_video = rng.random() < 0.03
    is_lead = not is_video and rng.random() < 0.02
    has_amp = not is_video and rng.random() < 0.06
    has_logo = rng.random() < 0.84
    has_image = rng.random() < 0.93
    crlf = rng.random() < 0.07
    quality = rng.randint(0, 189)
    heat = -1 if is_lead and rng.random() < 0.7 else (quality if rng.random() < 0.8 else rng.randint(0, 189))
    published = (not is_lead or rng.random() < 0.3) and rng.random() < 0.65
    excerpt = sentence(rng, 25, 45)
    if revision:  # a newer version of the same article: identity and rng sequence unchanged
        excerpt = sentence(changes, 25, 45)
        heat = changes.randint(0, 189)

    lines = ["---", "category: news", f"title: {_quoted(title)}", f"excerpt: {_quoted(excerpt)}"]
    lines.append(f"publishedDateTime: {_timestamp(published_at)}")
    if is_video:
        video_id = f"v{seed}x{index:07d}"
        lines.append(f'originalUrl: "https://youtube.com/watch?v={video_id}"')
    else:
        lines.append(f'webUrl: "https://www.{provider_domain}/{published_at:%Y/%m}/{slug}"')
        if has_amp:
            lines.append(f'ampWebUrl: "https://www.{provider_domain}/amp/{published_at:%Y/%m}/{slug}"')
            cdn_host = provider_domain.replace(".", "-")
            lines.append(
                f'cdnAmpWebUrl: "https://www-{cdn_host}.cdn.ampproject.org/c/s/'
                f'www.{provider_domain}/amp/{published_at:%Y/%m}/{slug}"'
            )
        if not is_lead or rng.random() < 0.4:
            lines.append(f'originalUrl: "https://www.{provider_domain}/{published_at:%Y/%m}/{slug}?src=feed"')
    lines += [
        f"type: {'video' if is_video else 'article'}",
        f"quality: {quality}",
        f"heat: {heat}",
        f"published: {'true' if published else 'false'}",
        "",
    ]
    if is_video:
        iframe = (
            '<iframe width=\\"800\\" height=\\"500\\" frameborder=\\"0\\" '
            f'src=\\"https://www.youtube.com/embed/{video_id}\\" allow=\\"accelerometer; autoplay; '
            'encrypted-media; gyroscope; picture-in-picture\\" allowfullscreen></iframe>'
        )
        lines += [f'featuredContent: "{iframe}"', ""]
    lines += ["provider:", f"  name: {provider_name}", f"  domain: {provider_domain}"]
    if has_logo:
        lines += [
            "  images:",
            f'    - url: "https://everyday-cc.github.io/news/assets/images/organizations/{provider_domain}-50x50.jpg"',
            "      width: 50",
            "      height: 50",
        ]
    lines += ["", "topics:"]
    for topic in rng.sample(range(topics), rng.randint(1, 3)):
        lines.append(f"  - {topic_name(topic)}")
    lines.append("")
    if has_image:
        lines += [
            "images:",
            f'  - url: "https://img.{provider_domain}/{published_at:%Y/%m}/{slug}.jpg?w=1200&amp;h=630"',
            "    width: 1200",
            "    height: 630",
            "    isCached: true",
        ]
        if is_lead:
            lines.append(f"    title: {_quoted(title)}")
        lines.append("")
    if is_lead:
        lines.append("related:")
        for position in range(rng.choice(RELATED_SIZES)):
            lines += _related(rng, position, published_at, providers)
        lines.append("")
    secret = rng.getrandbits(1024)
    if revision:
        secret = changes.getrandbits(1024)
    lines += [f'secured: "{secret:0256x};{rng.getrandbits(128):032x}=="', "---", ""]
    newline = "\r\n" if crlf else "\n"
    return f"{published_at:%Y-%m-%d}-{slug}.md", newline.join(lines)


def _related(rng: random.Random, position: int, lead_at: datetime, providers: int) -> list[str]:
    name, domain = provider_identity(rng.randrange(providers))
    at = lead_at + timedelta(hours=rng.randint(-48, 24 * 300))
    slug = "-".join(_words(rng, 3, 7).split()) + f"-{position}"
    lines = [
        f"  - title: {_quoted(headline(rng))}",
        f"    excerpt: {_quoted(sentence(rng, 0, 40) if rng.random() < 0.95 else '')}",
        f"    publishedDateTime: {_timestamp(at)}",
        f'    webUrl: "https://{domain}/{at:%Y/%m/%d}/{slug}/"',
    ]
    if rng.random() < 0.5:
        lines += [
            f'    ampWebUrl: "https://{domain}/{at:%Y/%m/%d}/{slug}/amp/"',
            f'    cdnAmpWebUrl: "https://{domain.replace(".", "-")}.cdn.ampproject.org/c/s/'
            f'{domain}/{at:%Y/%m/%d}/{slug}/amp/"',
        ]
    lines += ["    type: article", "    provider:", f"      name: {name}", f"      domain: {domain}"]
    lines.append(f"    quality: {rng.randint(0, 175)}")
    if rng.random() < 0.8:
        lines += [
            "    images:",
            f'      - url: "https://{domain}/wp-content/uploads/{at:%Y/%m}/{slug}.jpg?w=1024&#038;h=685"',
            "        width: 1024",
            "        height: 685",
        ]
        if rng.random() < 0.97:
            lines.append("        isCached: true")
    return lines


def generate(out_dir: Path, count: int, *, seed: int = 1) -> list[Path]:
    """Write ``count`` story files into ``out_dir``; returns their paths in index order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        name, text = story_text(index, total=count, seed=seed)
        path = out_dir / name
        path.write_bytes(text.encode("utf-8"))
        paths.append(path)
    return paths


def revise(out_dir: Path, count: int, *, fraction: float, seed: int = 1, revision: int = 1) -> int:
    """Rewrite every ``1/fraction``-th story of a generated batch as a newer version of itself.

    Returns how many files were rewritten.
    """
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    step = round(1 / fraction)
    rewritten = 0
    for index in range(0, count, step):
        name, text = story_text(index, total=count, seed=seed, revision=revision)
        (out_dir / name).write_bytes(text.encode("utf-8"))
        rewritten += 1
    return rewritten


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("-n", "--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--revise", type=float, metavar="FRACTION", help="rewrite this fraction of an existing batch"
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.revise is not None:
        done = revise(args.out_dir, args.count, fraction=args.revise, seed=args.seed)
        print(f"rewrote {done} of {args.count} files in {args.out_dir}")
    else:
        generate(args.out_dir, args.count, seed=args.seed)
        print(f"wrote {args.count} files to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
