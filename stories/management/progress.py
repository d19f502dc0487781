"""The progress bar of long-running commands (``import_stories``, ``cache_images``), drawn by tqdm."""

from __future__ import annotations

from django.core.management.base import OutputWrapper
from tqdm import tqdm


class _Bar(tqdm):
    # tqdm's monitor thread only corrects bars that go minutes without an update; ours never do,
    # and a thread alive when the import forks its parsing workers is best avoided.
    monitor_interval = 0


def _plain(text: str) -> str:
    return text


class _Unstyled:
    """A command's output stream as tqdm writes to it: the text as given, no line ending or colour."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(text, style_func=_plain, ending="")

    def flush(self) -> None:
        self.stream.flush()


class ProgressBar:
    """Progress on a command's stderr, drawn only when stderr is a terminal and verbosity is 1 or more.

    Elsewhere (a pipe, a file, cron, tests) nothing is drawn and the output is the same as
    without a bar. Lines the command prints while it runs go through ``write()``: the bar is
    cleared first and drawn again after, so they stay readable. Closing clears the bar, so the
    command's summary starts on a clean line.
    """

    WITH_TOTAL = "[{bar:30}] {n_fmt}/{total_fmt}{unit} {percentage:3.0f}%  {rate_fmt}"
    WITHOUT_TOTAL = "{n_fmt}{unit}  {rate_fmt}"

    def __init__(self, stream: OutputWrapper, *, unit: str, verbosity: int, total: int | None = None) -> None:
        self.enabled = verbosity >= 1 and stream.isatty()
        self._bar = _Bar(
            total=total,
            unit=f" {unit}",
            file=_Unstyled(stream),
            disable=not self.enabled,
            leave=False,
            mininterval=0.1,
            ascii=" #",
            bar_format=self.WITH_TOTAL if total else self.WITHOUT_TOTAL,
        )

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def set_total(self, total: int | None) -> None:
        self._bar.total = total
        self._bar.bar_format = self.WITH_TOTAL if total else self.WITHOUT_TOTAL
        self._bar.refresh()

    def advance(self, count: int = 1) -> None:
        self._bar.update(count)
        if self._bar.n == self._bar.total:
            # Redraws are at most ten a second; the finished state is always shown.
            self._bar.refresh()

    def show(self, done: int, total: int) -> None:
        """Progress as a service reports it: ``done`` of ``total``."""
        if total != self._bar.total:
            self.set_total(total)
        self.advance(done - self._bar.n)

    def write(self, stream: OutputWrapper, line: str) -> None:
        """Print ``line`` on the command's stdout or stderr, above the bar."""
        self._bar.clear()
        stream.write(line)
        stream.flush()
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()
