"""One submission's feedback as a self-contained HTML page.

The page shows what the student would see on Gradescope (the summary, then every test
with its points and feedback), plus a staff line with the seed and how the grading went.
Everything that comes from the grading is escaped: a submission's printed output or
exception text is shown as text, never run as markup in a TA's browser.
"""

from __future__ import annotations

import html
import os
import secrets
from pathlib import Path
from typing import Any

from ..results import GradingResult

__all__ = ["STYLE", "render", "write"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.failed td.status { color: #b00; font-weight: bold; } tr.passed td.status { color: #070; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.9em; }
.error { background: #fee; border: 1px solid #d99; padding: 0.5em 1em; }
.staff { color: #666; font-size: 0.9em; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render(submission_id: str, manifest: dict[str, Any], results: GradingResult | None) -> str:
    """The page's HTML."""
    status = str(manifest.get("status", ""))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(submission_id)}: feedback</title>",
             f"<style>{STYLE}</style></head><body><h1>{_e(submission_id)}</h1>"]
    if status != "graded":
        parts.append(f"<p class='error'><b>{_e(status)}</b>: {_e(manifest.get('message', ''))}<br>"
                     "This is not a score: the submission needs to be graded again or looked at by staff.</p>")
    if results is not None:
        parts.append(_tests(results))
    key = manifest.get("key", {})
    parts.append(f"<p class='staff'>Staff only: seed {_e(key.get('seed', ''))}, device {_e(manifest.get('device', ''))}"
                 f", grader {_e(key.get('grader_version', ''))}, graded {_e(manifest.get('graded_at', ''))} on "
                 f"{_e(manifest.get('host', ''))} in {_e(manifest.get('seconds', ''))} s. Reproduce with "
                 f"<code>autograder grade {_e(key.get('assignment', ''))} SUBMISSION --seed {_e(key.get('seed', ''))}"
                 f"</code>.</p></body></html>\n")
    return "".join(parts)


def _tests(results: GradingResult) -> str:
    rows = []
    for t in results.tests:
        state = "passed" if t.status == "passed" else "failed"
        rows.append(f"<tr class='{state}'><td class='num'>{_e(t.number)}</td><td>{_e(t.name)}"
                    f"<pre>{_e(t.output)}</pre></td><td class='status'>{state}</td>"
                    f"<td class='num'>{t.score:g} / {t.max_score:g}</td>"
                    f"<td>{_e(', '.join(t.tags))}</td></tr>")
    return (f"<h2>Score: {results.score:g} / {sum(t.max_score for t in results.tests):g}</h2>"
            f"<pre>{_e(results.output)}</pre>"
            "<h2>Tests</h2><table><tr><th class='num'>#</th><th>test and feedback</th><th>status</th>"
            f"<th class='num'>points</th><th>tags</th></tr>{''.join(rows)}</table>")


def write(path: Path, submission_id: str, manifest: dict[str, Any], results: GradingResult | None) -> None:
    """Write the page atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    tmp.write_text(render(submission_id, manifest, results), encoding="utf-8")
    os.replace(tmp, path)
