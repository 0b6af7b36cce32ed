"""mkdocs hooks: pages generated from the code, so the docs cannot drift from it.

``<!-- pipe-catalog -->`` in a page becomes the ``@pipe`` function catalog, read from the
registry the engine itself uses (:data:`hotmesh.engine.pipe.FUNCTIONS`).
"""

from __future__ import annotations

import inspect
from typing import Any

MARKER = "<!-- pipe-catalog -->"


def pipe_catalog() -> str:
    """The catalog as Markdown: one table per namespace (name, arguments, summary)."""
    from hotmesh.engine.pipe import FUNCTIONS

    parts: list[str] = [f"{len(FUNCTIONS)} functions.\n"]
    namespaces = sorted({name.split(".", 1)[0] for name in FUNCTIONS})
    for namespace in namespaces:
        parts.append(f"\n## {namespace}\n\n| function | arguments | what it does |\n|---|---|---|")
        for name in sorted(n for n in FUNCTIONS if n.split(".", 1)[0] == namespace):
            function = FUNCTIONS[name]
            try:
                params = ", ".join(inspect.signature(function).parameters)
            except (TypeError, ValueError):
                params = "…"
            summary = (inspect.getdoc(function) or "").split("\n\n", 1)[0].replace("\n", " ")
            summary = summary.replace("|", "\\|")
            parts.append(f"| `{{@{name}}}` | `{params}` | {summary} |")
    return "\n".join(parts) + "\n"


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Expand the generated sections of a page."""
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, pipe_catalog())
    return markdown
