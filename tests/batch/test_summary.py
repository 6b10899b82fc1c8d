"""summary.html and the feedback pages: plots, worst tests first, everything escaped."""

from __future__ import annotations

import re

from test_gradebook import graded_files

from autograder.batch import feedback, gradebook, summary
from autograder.batch.roster import Submission
from autograder.results import from_gradescope


def test_summary_has_three_plots_and_worst_tests_first(tmp_path):
    subs = tmp_path / "submissions"
    graded_files(subs, "a", [2.0, 0.0, 2.0])
    graded_files(subs, "b", [2.0, 0.0, 0.0])
    graded_files(subs, "c", [], status="grader error", message="boom <b>")
    rows = gradebook.rows([Submission(i, tmp_path) for i in "abcd"], subs)
    stats = summary.test_stats(rows)
    assert [(s.number, s.passed, s.graded) for s in stats] == [("1.2", 0, 2), ("1.3", 1, 2), ("1.1", 2, 2)]
    summary.write(tmp_path / "summary.html", "Softmax <etc>", rows)
    page = (tmp_path / "summary.html").read_text()
    assert len(re.findall(r"<img alt='plot' src='data:image/png;base64,iVBOR", page)) == 3
    assert "4 submissions: 2 graded, 1 need attention" in page and "1 not graded yet" in page
    assert "Softmax &lt;etc&gt;" in page and "boom &lt;b&gt;" in page and "boom <b>" not in page
    assert "href='submissions/a/feedback.html'" in page
    table = page[page.index("Tests, worst first"):]
    assert table.index(">test 2<") < table.index(">test 3<") < table.index(">test 1<")


def test_summary_without_any_graded_submission_still_renders(tmp_path):
    rows = gradebook.rows([Submission("a", tmp_path)], tmp_path)
    page = summary.render("T", rows)
    assert "1 not graded yet" in page and "<img" not in page


def test_feedback_page_escapes_what_the_submission_printed(tmp_path):
    results = {"score": 1, "output": "<script>alert(1)</script>", "tests": [
        {"name": "t <i>", "number": "1.1", "score": 1, "max_score": 2, "status": "failed",
         "output": "</pre><img src=x onerror=alert(1)>", "tags": ["public"], "visibility": "visible"}]}
    manifest = {"status": "graded", "key": {"seed": 7, "assignment": "softmax_nll"}, "seconds": 2.0}
    feedback.write(tmp_path / "f.html", "ada", manifest, from_gradescope(results))
    page = (tmp_path / "f.html").read_text()
    assert "<script>" not in page and "<img src=x" not in page and "&lt;script&gt;" in page
    assert "Score: 1 / 2" in page and "--seed 7" in page


def test_feedback_page_of_a_grader_error_says_it_is_not_a_score():
    page = feedback.render("bob", {"status": "grader error", "message": "worker died", "key": {}}, None)
    assert "grader error" in page and "worker died" in page and "This is not a score" in page
