"""The report of a checked exercise: one row per gradient (right or wrong, and why), as text and HTML.

`Exercise.check` returns a `PracticeReport`; ``str()`` is a table for the terminal, Jupyter shows
it as HTML (or Markdown), ``to_dict()`` is JSON-ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from microgradx import notebook
from microgradx.formatting import derivative_name, fmt

__all__ = ["PracticeReport", "PracticeRow"]


@dataclass(frozen=True)
class PracticeRow:
    """One checked gradient: the node's label, the right number, the learner's (None: not given)."""

    name: str
    expected: float
    given: float | None
    ok: bool
    note: str


class PracticeReport:
    """The result of `Exercise.check`: true when every answer given is right (and one was given).

    ``rows`` holds one `PracticeRow` per answer, in the backward pass's order; ``missing`` the labels
    not answered yet. ``str()`` is a table; Jupyter shows it as HTML.
    """

    def __init__(self, rows: list[PracticeRow], missing: list[str], output_name: str) -> None:
        self.rows = rows
        self.missing = missing
        self.output_name = output_name

    def __bool__(self) -> bool:
        return bool(self.rows) and all(row.ok for row in self.rows)

    def __repr__(self) -> str:
        return f"<PracticeReport: {self._headline()}>"

    def _headline(self) -> str:
        right = sum(row.ok for row in self.rows)
        said = f"{right} of {len(self.rows)} answers right"
        if self.missing:
            said += f"; not answered yet: {', '.join(self.missing)}"
        return said

    def _cells(self, row: PracticeRow) -> list[str]:
        given = "—" if row.given is None else fmt(row.given, 6)
        verdict = "right" if row.ok else "wrong"
        return [row.name, fmt(row.expected, 6) if row.ok else "?", given, verdict]

    def __str__(self) -> str:
        lines = [self._headline(), ""]
        table = [["node", "right", "given", "", "note"]] + [[*self._cells(r), r.note] for r in self.rows]
        widths = [max(len(cells[i]) for cells in table) for i in range(4)]
        for cells in table:
            lines.append(
                "  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[4]]).rstrip()
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for row in self.rows:
            name, right, given, verdict = self._cells(row)
            colour = notebook.OK_COLOUR if row.ok else notebook.BAD_COLOUR
            rows.append(
                [
                    notebook.cell(
                        notebook.text(f"d{derivative_name(self.output_name)}/d{derivative_name(name)}")
                    ),
                    notebook.cell(notebook.text(right), kind="number"),
                    notebook.cell(notebook.text(given), kind="number"),
                    notebook.cell(f"<b>{verdict}</b> {notebook.text(row.note)}", kind="note", colour=colour),
                ]
            )
        colour = notebook.OK_COLOUR if self else notebook.BAD_COLOUR
        headline = notebook.text(self._headline())
        return notebook.block(
            f'<p style="margin:0.3em 0;font-weight:bold;color:{colour}">{headline}</p>',
            notebook.table(["gradient", "right", "given", "verdict"], rows),
        )

    def _repr_markdown_(self) -> str:
        lines = [
            f"**{notebook.md(self._headline())}**",
            "",
            "| gradient | right | given | verdict |",
            "|---|---|---|---|",
        ]
        for row in self.rows:
            name, right, given, verdict = self._cells(row)
            shown = verdict if not row.note else f"**{verdict}**: {notebook.md(row.note)}"
            lines.append(f"| {notebook.md(name)} | {right} | {given} | {shown} |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every row, and the labels not answered."""
        return {
            "ok": bool(self),
            "rows": [row.__dict__ for row in self.rows],
            "missing": list(self.missing),
        }
