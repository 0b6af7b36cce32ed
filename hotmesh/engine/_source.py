"""Where a YAML node was declared, and what is wrong with it (re-exported by
:mod:`hotmesh.engine.model`); a leaf module so readers and checkers need not import the model."""

from __future__ import annotations

from typing import Literal

from attrs import define

__all__ = ["DeployProblem", "SourceLocation"]


@define(frozen=True)
class SourceLocation:
    """Where a YAML node starts: file (``None`` for inline text), 1-based line and column.

    Example:
        >>> str(SourceLocation("app.yaml", 3, 5))
        'app.yaml:3:5'
    """

    file: str | None
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file or '<yaml>'}:{self.line}:{self.column}"


@define(frozen=True)
class DeployProblem:
    """One thing wrong (``error``) or suspicious (``warning``) in an app manifest.

    Attributes:
        node: dotted path of the YAML node, e.g. ``app.graphs[0].activities.a1.type``.
        message: what is wrong, in a sentence.
        location: where the node starts in the source, when known.
        severity: ``"error"`` blocks the deploy; ``"warning"`` is kept on
            :attr:`AppManifest.warnings`.

    Example:
        >>> str(DeployProblem("app.id", "is required"))
        'app.id: is required'
    """

    node: str
    message: str
    location: SourceLocation | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location is not None else ""
        if where and str(self.location) == self.node:  # a YAML syntax error: said once
            return f"{where}{self.message}"
        return f"{where}{self.node}: {self.message}"
