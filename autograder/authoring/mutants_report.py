"""mutants.html: the kill rate per task and per operator, and each survivor's diff, worst task first."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

__all__ = ["by", "write"]

STATUSES = ("killed", "survived", "equivalent", "error")
STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
.bad{color:#a00;font-weight:bold}"""


def by(entries: list[dict[str, Any]], field: str) -> list[tuple[str, dict[str, int], float | None]]:
    """(group, counts per status, kill rate) per value of ``field``, lowest kill rate first."""
    groups: dict[str, dict[str, int]] = {}
    for mutant in entries:
        counts = groups.setdefault(str(mutant[field]), dict.fromkeys(STATUSES, 0))
        counts[mutant["status"]] += 1
    rows = []
    for name, counts in groups.items():
        scored = counts["killed"] + counts["survived"]
        rows.append((name, counts, counts["killed"] / scored if scored else None))
    return sorted(rows, key=lambda r: (1.0 if r[2] is None else r[2], r[0]))


def _table(title: str, rows: list[tuple[str, dict[str, int], float | None]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in (title, "mutants", *STATUSES, "kill rate"))
    body = []
    for name, counts, rate in rows:
        cells = "".join(f"<td>{counts[s]}</td>" for s in STATUSES)
        shown = "n/a" if rate is None else f"{100 * rate:.1f}%"
        mark = ' class="bad"' if rate is not None and rate < 0.97 else ""
        body.append(f"<tr><td>{html.escape(name)}</td><td>{sum(counts.values())}</td>{cells}"
                    f"<td{mark}>{shown}</td></tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render(title: str, data: dict[str, Any]) -> str:
    """The page for one mutants.json."""
    entries = data["mutants"]
    rate = data["kill_rate"]
    parts = [f"<h1>Mutants of {html.escape(title)}</h1>",
             f"<p>{data['total']} mutants (seed {data['seed']}): {data['killed']} killed, {data['survived']} survived, "
             f"{data['equivalent']} equivalent, {data['errors']} grader errors; kill rate "
             f"<b>{'n/a' if rate is None else f'{100 * rate:.1f}%'}</b> = killed / (mutants - equivalent - errors)."
             "</p>",
             "<h2>Per task</h2>", _table("task", by(entries, "task")),
             "<h2>Per operator</h2>", _table("operator", by(entries, "operator")), "<h2>Survivors</h2>"]
    order = {name: i for i, (name, _, _) in enumerate(by(entries, "task"))}
    survivors = sorted((mutant for mutant in entries if mutant["status"] == "survived"),
                       key=lambda mutant: (order[mutant["task"]], mutant["line"]))
    if not survivors:
        parts.append("<p>None: every graded mutant lost points.</p>")
    for mutant in survivors:
        parts.append(f"<h3>{html.escape(mutant['task'])}: {html.escape(mutant['operator'])}, line {mutant['line']} "
                     f"(<code>{mutant['id']}</code>)</h3><pre>{html.escape(mutant['diff'])}</pre>")
    errors = [mutant for mutant in entries if mutant["status"] == "error"]
    if errors:
        parts.append("<h2>Grader errors (not counted)</h2><ul>" + "".join(
            f"<li><code>{mutant['id']}</code>: {html.escape(str(mutant.get('message', '')))}</li>"
            for mutant in errors) + "</ul>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Mutants: {html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")


def write(path: Path, title: str, data: dict[str, Any]) -> None:
    """Write mutants.html atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(title, data), encoding="utf-8")
    tmp.replace(path)
