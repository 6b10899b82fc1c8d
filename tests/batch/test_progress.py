"""Progress of a batch: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

import pytest

from autograder.batch.progress import Progress, format_duration


@pytest.mark.parametrize("seconds,text", [(0, "0s"), (59.4, "59s"), (75, "1m15s"), (3700, "1h01m")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_plain_lines_carry_done_total_failures_and_eta():
    out = io.StringIO()
    progress = Progress(total=4, already_done=1, stream=out, tty=False)
    progress.start()
    progress.update("a: 10 / 100", failed=False)
    progress.update("b: grader error: boom", failed=True)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[2/4 done, 0 failures, ETA ") and lines[0].endswith("] a: 10 / 100")
    assert lines[1].startswith("[3/4 done, 1 failure, ETA ") and "\r" not in out.getvalue()
    progress.update("c: 1 / 100", failed=False)
    assert out.getvalue().splitlines()[-1] == "[4/4 done, 1 failure] c: 1 / 100"


def test_terminal_bar_redraws_one_line_and_keeps_failures():
    out = io.StringIO()
    progress = Progress(total=2, already_done=0, stream=out, tty=True)
    progress.start()
    progress.update("x: grader error: boom", failed=True)
    progress.update("y: 5 / 10", failed=False)
    progress.finish()
    text = out.getvalue()
    assert text.count("\n") == 2 and "x: grader error: boom\n" in text and "y: 5 / 10" not in text
    assert text.rstrip("\n").endswith("grading [########################] 2/2 done, 1 failure")
