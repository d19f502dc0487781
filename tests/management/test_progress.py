"""The progress bar of long-running commands: on a terminal only, and out of the way of what they print."""

from __future__ import annotations

import io

from django.core.management.base import OutputWrapper

from stories.management.progress import ProgressBar
from tests.terminal import Terminal, screen


def test_nothing_is_drawn_when_stderr_is_not_a_terminal():
    err, out = io.StringIO(), io.StringIO()
    with ProgressBar(OutputWrapper(err), unit="files", verbosity=1, total=3) as progress:
        progress.advance()
        progress.write(OutputWrapper(err), "a.md: broken")
        progress.write(OutputWrapper(out), "b.md: created")
        progress.advance(2)

    assert progress.enabled is False
    assert err.getvalue() == "a.md: broken\n"
    assert out.getvalue() == "b.md: created\n"


def test_nothing_is_drawn_at_verbosity_zero_even_on_a_terminal():
    terminal = Terminal()
    with ProgressBar(OutputWrapper(terminal), unit="files", verbosity=0, total=3) as progress:
        progress.advance(3)

    assert progress.enabled is False
    assert terminal.getvalue() == ""


def test_the_bar_shows_done_of_total_and_is_cleared_at_the_end():
    terminal = Terminal()
    with ProgressBar(OutputWrapper(terminal), unit="files", verbosity=1, total=4) as progress:
        progress.advance(4)
        drawn = terminal.getvalue()

    assert "[##############################] 4/4 files 100%" in screen(drawn)[-1]
    assert screen(terminal.getvalue()) == [""]


def test_a_line_printed_during_the_run_stands_alone_and_the_bar_comes_back_below_it():
    terminal = Terminal()
    with ProgressBar(OutputWrapper(terminal), unit="files", verbosity=1, total=10) as progress:
        progress.advance(5)
        progress.write(OutputWrapper(terminal), "2019-01-01-broken.md: line 2: not valid YAML")
        shown = screen(terminal.getvalue())

    assert shown[0] == "2019-01-01-broken.md: line 2: not valid YAML"
    assert shown[1].startswith("[###############               ] 5/10 files  50%")


def test_without_a_total_the_bar_counts():
    terminal = Terminal()
    with ProgressBar(OutputWrapper(terminal), unit="files", verbosity=1) as progress:
        progress.advance(7)
        progress.write(OutputWrapper(terminal), "x.md: broken")
        shown = screen(terminal.getvalue())

    assert shown[-1].startswith("7 files  ")
    assert "[" not in shown[-1]


def test_progress_reported_as_done_of_total_moves_the_bar():
    terminal = Terminal()
    with ProgressBar(OutputWrapper(terminal), unit="images", verbosity=1) as progress:
        progress.show(0, 8)
        progress.show(8, 8)
        shown = screen(terminal.getvalue())

    assert "] 8/8 images 100%" in shown[-1]
