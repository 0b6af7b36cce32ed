"""Collecting compile problems and turning them into one :class:`ManifestError`."""

from __future__ import annotations

from collections.abc import Sequence

from hotmesh.engine._source import DeployProblem, SourceLocation
from hotmesh.errors import DeployError

__all__ = ["Diagnostics", "ManifestError"]


class ManifestError(DeployError):
    """Every error found in an app manifest, raised at once.

    ``value`` names the node of the first error (a dotted YAML path such as
    ``app.graphs[0].activities.a1.type``, or ``file:line:column`` for a syntax error);
    ``errors`` lists them all, in the order they were found.

    Example:
        >>> from hotmesh.engine._source import DeployProblem
        >>> err = ManifestError([DeployProblem("app.id", "is required")])
        >>> (err.value, len(err.errors), str(err))
        ('app.id', 1, 'cannot deploy app: app.id: is required')
    """

    def __init__(self, problems: Sequence[DeployProblem], *, app_id: str | None = None) -> None:
        errors = tuple(problem for problem in problems if problem.severity == "error")
        if not errors:
            raise ValueError("ManifestError needs at least one error")
        subject = f"app {app_id!r}" if app_id else "app"
        if len(errors) == 1:
            message = f"cannot deploy {subject}: {errors[0]}"
        else:
            listed = "\n".join(f"  - {problem}" for problem in errors)
            message = f"cannot deploy {subject}: {len(errors)} problems:\n{listed}"
        super().__init__(message, value=errors[0].node)
        self.errors = errors


class Diagnostics:
    """An ordered list of problems found while compiling one app.

    Example:
        >>> diag = Diagnostics()
        >>> diag.warn("app.settings", "ignored")
        >>> diag.raise_if_errors()  # warnings alone do not raise
        >>> [str(w) for w in diag.warnings]
        ['app.settings: ignored']
    """

    def __init__(self) -> None:
        self.problems: list[DeployProblem] = []
        self.app_id: str | None = None

    def error(self, node: str, message: str, location: SourceLocation | None = None) -> None:
        """Record a problem that blocks the deploy."""
        self.problems.append(DeployProblem(node, message, location, "error"))

    def warn(self, node: str, message: str, location: SourceLocation | None = None) -> None:
        """Record a problem that does not block the deploy."""
        self.problems.append(DeployProblem(node, message, location, "warning"))

    def extend(self, problems: Sequence[DeployProblem]) -> None:
        """Add problems found elsewhere (e.g. while loading a file)."""
        self.problems.extend(problems)

    @property
    def errors(self) -> tuple[DeployProblem, ...]:
        """The blocking problems so far."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[DeployProblem, ...]:
        """The non-blocking problems so far."""
        return tuple(p for p in self.problems if p.severity == "warning")

    def raise_if_errors(self) -> None:
        """Raise :class:`ManifestError` when any error was recorded."""
        if self.errors:
            raise ManifestError(self.problems, app_id=self.app_id)
