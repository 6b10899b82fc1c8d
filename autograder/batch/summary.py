"""The batch's summary page for course staff: what the class gets wrong, at a glance.

``summary.html`` is one self-contained file (plots embedded as PNG) with: the counts
(graded, errors, not yet graded) and the score statistics; a score histogram; the pass
rate of every test, worst first; the grading time of each submission; then tables of the
tests (worst first), the submissions that need staff attention, and every submission with a
link to its feedback page. Plots are drawn with matplotlib's Agg canvas (no display needed).
"""

from __future__ import annotations

import base64
import html
import io
import os
import secrets
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..results import TestResult
from .feedback import STYLE
from .gradebook import Row, column

__all__ = ["MAX_PLOTTED_TESTS", "TestStat", "render", "test_stats", "write"]

MAX_PLOTTED_TESTS = 40
"""The pass-rate plot shows this many of the worst tests; the table below lists all."""


@dataclass(frozen=True)
class TestStat:
    """How the graded submissions did on one test."""

    column: str
    number: str
    name: str
    max_score: float
    passed: int
    graded: int
    mean_score: float

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def test_stats(rows: list[Row]) -> list[TestStat]:
    """One entry per test seen, worst pass rate first (ties by test order)."""
    found: dict[str, list[TestResult]] = {}
    for row in rows:
        if row.graded and row.results:
            for t in row.results.tests:
                found.setdefault(column(t), []).append(t)
    stats = [TestStat(col, ts[0].number, ts[0].name, ts[0].max_score, sum(t.status == "passed" for t in ts), len(ts),
                      statistics.fmean(t.score for t in ts))
             for col, ts in found.items()]
    order = {col: i for i, col in enumerate(found)}
    return sorted(stats, key=lambda s: (s.pass_rate, order[s.column]))


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return f"<img alt='plot' src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'>"


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _histogram(totals: list[float], top: float) -> str:
    from matplotlib.ticker import MaxNLocator

    fig = _figure(7, 3.2)
    ax = fig.add_subplot()
    ax.hist(totals, bins=20, range=(0, top or 1), color="#4a7ab5", edgecolor="white")
    ax.set_xlabel(f"total score (out of {top:g})")
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Scores")
    return _png(fig)


def _pass_rates(stats: list[TestStat]) -> str:
    shown = stats[:MAX_PLOTTED_TESTS]
    fig = _figure(9, 0.8 + 0.24 * len(shown))
    ax = fig.add_subplot()
    labels = [f"{s.number} {s.name[:70]}" for s in shown]
    ax.barh(range(len(shown)), [100 * s.pass_rate for s in shown], color="#c0504d")
    ax.set_yticks(range(len(shown)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of graded submissions passing")
    more = f" ({len(shown)} worst of {len(stats)})" if len(stats) > len(shown) else ""
    ax.set_title(f"Pass rate per test, worst first{more}")
    return _png(fig)


def _times(rows: list[Row]) -> str:
    timed = sorted(((r.seconds, r.submission.id) for r in rows if r.seconds is not None), reverse=True)
    fig = _figure(9, 3.2)
    ax = fig.add_subplot()
    ax.bar(range(len(timed)), [t for t, _ in timed], color="#6a9a4a", width=1.0)
    if timed:
        ax.axhline(statistics.median(t for t, _ in timed), color="#333", linestyle="--", linewidth=1,
                   label="median")
        ax.legend()
    ax.set_xlabel("submissions, slowest first")
    ax.set_ylabel("seconds")
    ax.set_title("Grading time per submission")
    return _png(fig)


def render(title: str, rows: list[Row]) -> str:
    """The page's HTML."""
    graded = [r for r in rows if r.graded]
    errors = [r for r in rows if r.manifest is not None and not r.graded]
    waiting = [r for r in rows if r.manifest is None]
    totals = [r.total for r in graded if r.total is not None]
    top = max((r.max_total or 0.0 for r in graded), default=0.0)
    stats = test_stats(rows)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}: class summary</title>",
             f"<style>{STYLE}</style></head><body><h1>{_e(title)}: class summary</h1>",
             f"<p>{len(rows)} submissions: {len(graded)} graded, {len(errors)} need attention (grader error or "
             f"unreadable), {len(waiting)} not graded yet.</p>"]
    if totals:
        parts.append(f"<p>Scores: mean {statistics.fmean(totals):.1f}, median {statistics.median(totals):g}, "
                     f"min {min(totals):g}, max {max(totals):g} (out of {top:g}).</p>")
        parts += [_histogram(totals, top), _pass_rates(stats)]
    if any(r.seconds is not None for r in rows):
        parts.append(_times(rows))
    parts.append(_stats_table(stats))
    if errors:
        parts.append("<h2>Needs attention (not a score)</h2><table><tr><th>submission</th><th>status</th></tr>"
                     + "".join(f"<tr><td>{_link(r)}</td><td>{_e(r.status)}</td></tr>" for r in errors) + "</table>")
    parts.append("<h2>Submissions</h2><table><tr><th>submission</th><th>students</th><th class='num'>total</th>"
                 "<th class='num'>seconds</th><th>status</th></tr>")
    for r in rows:
        names = ", ".join(s.name or s.email or s.sid for s in r.submission.students)
        total = "" if r.total is None else f"{r.total:g}"
        seconds = "" if r.seconds is None else f"{r.seconds:.1f}"
        parts.append(f"<tr><td>{_link(r)}</td><td>{_e(names)}</td><td class='num'>{total}</td>"
                     f"<td class='num'>{seconds}</td><td>{_e(r.status)}</td></tr>")
    parts.append("</table></body></html>\n")
    return "".join(parts)


def _link(row: Row) -> str:
    if row.manifest is None:
        return _e(row.submission.id)
    return f"<a href='submissions/{_e(row.submission.id)}/feedback.html'>{_e(row.submission.id)}</a>"


def _stats_table(stats: list[TestStat]) -> str:
    if not stats:
        return ""
    lines = ["<h2>Tests, worst first</h2><table><tr><th class='num'>#</th><th>test</th>"
             "<th class='num'>passing</th><th class='num'>mean points</th></tr>"]
    for s in stats:
        lines.append(f"<tr><td class='num'>{_e(s.number)}</td><td>{_e(s.name)}</td>"
                     f"<td class='num'>{s.passed}/{s.graded} ({100 * s.pass_rate:.0f}%)</td>"
                     f"<td class='num'>{s.mean_score:.2f} / {s.max_score:g}</td></tr>")
    return "".join(lines) + "</table>"


def write(path: Path, title: str, rows: list[Row]) -> None:
    """Write summary.html atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    tmp.write_text(render(title, rows), encoding="utf-8")
    os.replace(tmp, path)
