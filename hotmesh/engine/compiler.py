"""Compile a YAML app into an :class:`~hotmesh.engine.model.AppManifest`.

:func:`compile_app` reads a manifest (a file with ``$ref`` entries, YAML text, or a
mapping), checks it, and returns the immutable plan the engine runs. Every problem found is
reported at once in one :class:`ManifestError` (a :class:`~hotmesh.errors.DeployError`);
suspicious but legal constructs are kept as warnings on the manifest and logged.

:func:`validate_input` enforces a graph's ``input.schema`` on a job's input data.

Example:
    >>> app = compile_app('''
    ... app:
    ...   id: abc
    ...   version: '5'
    ...   graphs:
    ...     - subscribes: abc.test
    ...       activities:
    ...         t1: {type: trigger}
    ...         a1:
    ...           type: worker
    ...           topic: work.do
    ...           input: {maps: {x: '{t1.output.data.a}'}}
    ...           job: {maps: {b: '{$self.output.data.y}'}}
    ...       transitions:
    ...         t1: [{to: a1}]
    ... ''')
    >>> a1 = app.activity("a1")
    >>> (a1.type, a1.parent, a1.consumes, app.activity("t1").produces)
    ('worker', 't1', {'a1': ('output/data/y',), 't1': ('output/data/a',)}, ('output/data/a',))
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.protocols import Validator

from hotmesh.engine import pipe
from hotmesh.engine._activities import Reader
from hotmesh.engine._checks import pipe_problems
from hotmesh.engine._diagnostics import Diagnostics, ManifestError
from hotmesh.engine._expressions import (
    SPECIAL_ROOTS,
    Cell,
    cell_kind,
    dependency,
    function_name,
    is_unclosed_reference,
    iter_cells,
    reference_path,
)
from hotmesh.engine._graph import GraphDraft, app_expire, read_graph
from hotmesh.engine._yaml import LoadedSource, load_source
from hotmesh.engine.activities import KINDS
from hotmesh.engine.model import (
    Activity,
    AppManifest,
    Graph,
    HookRule,
    SourceLocation,
)
from hotmesh.errors import ValidationError

__all__ = ["ManifestError", "compile_app", "validate_input"]

logger = logging.getLogger(__name__)

_APP_KEYS = frozenset({"id", "version", "settings", "graphs", "title", "description", "expire"})
# Activity keys that hold documentation, not expressions.
_UNEVALUATED_KEYS = frozenset({"type", "title", "hook"})
_SECTIONS = frozenset({"input", "output", "job", "signal", "resolver"})


def compile_app(
    source: str | Path | Mapping[str, Any], *, base_dir: str | Path | None = None
) -> AppManifest:
    """Read, check and compile an app manifest.

    Args:
        source: a path to a YAML file (``$ref`` entries resolved relative to it, recursively),
            YAML text, or the already-parsed mapping.
        base_dir: directory that ``$ref`` entries in text or mapping sources are relative to.

    Returns:
        The compiled, immutable manifest.

    Raises:
        ManifestError: a :class:`~hotmesh.errors.DeployError` listing every problem; its
            ``value`` names the first bad node.

    Example:
        >>> compile_app("app: {id: x, version: '1'}")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hotmesh.engine._diagnostics.ManifestError: cannot deploy app 'x': ...app.graphs: ...
    """
    diag = Diagnostics()
    loaded = load_source(
        source, base_dir=Path(base_dir) if base_dir is not None else None, diag=diag
    )
    manifest = _AppCompiler(loaded, diag).compile()
    for warning in manifest.warnings:
        logger.warning(
            "deploy warning: %s",
            warning,
            extra={"app_id": manifest.id, "version": manifest.version, "node": warning.node},
        )
    return manifest


def validate_input(graph: Graph, data: Any) -> None:
    """Check a job's input ``data`` against ``graph.input_schema`` (no-op without a schema).

    Raises:
        ValidationError: the data violates the schema; ``value`` is the failing field's path
            (``$`` for the whole input, ``$.items[0].name`` below it).

    Example:
        >>> graph = compile_app('''
        ... app: {id: s, version: '1', graphs: [{subscribes: s.go,
        ...   input: {schema: {type: object, required: [seed]}},
        ...   activities: {t1: {type: trigger}}}]}
        ... ''').graph_for_topic("s.go")
        >>> validate_input(graph, {})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hotmesh.errors.ValidationError: input for 's.go' is invalid at $.seed: ...
    """
    if graph.input_validator is None:
        return
    error = best_match(graph.input_validator.iter_errors(data))
    if error is None:
        return
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        path.extend(missing[:1])
    shown = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    raise ValidationError(
        f"input for {graph.subscribes!r} is invalid at {shown}: {error.message}", value=shown
    )


def _check_schema(
    schema: Mapping[str, Any] | None, node: str, where: SourceLocation | None, diag: Diagnostics
) -> Validator | None:
    if schema is None:
        return None
    cls = validators.validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(dict(schema))
    except SchemaError as exc:
        inner = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        diag.error(f"{node}{inner}", f"not a valid JSON Schema: {exc.message}", where)
        return None
    return cls(dict(schema))


class _AppCompiler:
    """One compile run: reads the drafts, checks across graphs, builds the model."""

    def __init__(self, loaded: LoadedSource, diag: Diagnostics) -> None:
        self.loaded = loaded
        self.diag = diag
        self.locate = loaded.source_map.at
        self.owners: dict[str, int] = {}
        self.drafts: list[GraphDraft] = []
        #: activity id -> set of (owner, path) it reads
        self.deps: dict[str, set[tuple[str, str]]] = {}

    # -- app level ---------------------------------------------------------------------

    def compile(self) -> AppManifest:
        root = self.loaded.data
        if not isinstance(root, dict) or not isinstance(root.get("app"), dict):
            self.diag.error("app", "the manifest needs a top-level 'app' mapping")
            self.diag.raise_if_errors()
        app = Reader(root["app"], "app", self.diag, self.locate, self.locate(root, "app"))
        app_id, version = self._read_identity(app)
        raw_graphs = app.data.get("graphs")
        if not isinstance(raw_graphs, list) or not raw_graphs:
            where = app.at("graphs") or app.where
            self.diag.error("app.graphs", "the app needs a non-empty list of graphs", where)
            self.diag.raise_if_errors()
        assert isinstance(raw_graphs, list)
        retention = app_expire(app)
        for index, raw in enumerate(raw_graphs):
            node, where = f"app.graphs[{index}]", self.locate(raw_graphs, index)
            if not isinstance(raw, dict):
                self.diag.error(node, "a graph must be a mapping", where)
                continue
            reader = Reader(raw, node, self.diag, self.locate, where)
            self.drafts.append(read_graph(index, reader, self.owners, retention))
        self._check_topics()
        for draft in self.drafts:
            self._check_expressions(draft)
        self.diag.raise_if_errors()
        settings = app.data.get("settings") or {}
        return self._build(app_id, version, settings if isinstance(settings, dict) else {})

    def _read_identity(self, app: Reader) -> tuple[str, str]:
        for key in app.data:
            if key not in _APP_KEYS:
                app.warn(key, f"unknown app key {key!r} is ignored")
        app_id = app.data.get("id")
        if not isinstance(app_id, str) or not app_id:
            self.diag.error("app.id", "the app needs a non-empty string 'id'", app.at("id"))
            app_id = ""
        self.diag.app_id = app_id or None
        version = app.data.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        if not isinstance(version, str) or not version:
            self.diag.error(
                "app.version", "the app needs a 'version' string such as '1'", app.at("version")
            )
            version = ""
        return app_id, version

    def _check_topics(self) -> None:
        """Graph topics and hook topics are unique; static await topics name a graph."""
        graphs: dict[str, GraphDraft] = {}
        hooks: dict[str, str] = {}
        for draft in self.drafts:
            if draft.subscribes in graphs:
                draft.reader.error(
                    "subscribes",
                    f"topic {draft.subscribes!r} is already subscribed by "
                    f"{graphs[draft.subscribes].node}",
                )
            graphs.setdefault(draft.subscribes, draft)
            for topic in draft.hooks:
                if topic in hooks and hooks[topic] != draft.node:
                    draft.reader.error(
                        "hooks", f"hook topic {topic!r} is already declared by {hooks[topic]}"
                    )
                hooks.setdefault(topic, draft.node)
        for draft in self.drafts:
            for activity_id, (cls, fields, reader) in draft.activities.items():
                KINDS[cls.type].check_topics(activity_id, fields, reader, graphs, hooks)

    # -- expressions ---------------------------------------------------------------------

    def _activity_cells(self, draft: GraphDraft, activity_id: str) -> Iterator[Cell]:
        _, _, reader = draft.activities[activity_id]
        skip = frozenset({"schema"})
        for key, value in reader.data.items():
            if key in _UNEVALUATED_KEYS:
                continue
            node = reader.path(key)
            if key in _SECTIONS and isinstance(value, dict):
                for sub_key, sub_value in value.items():
                    if sub_key == "schema" or str(sub_key).isdigit():
                        continue
                    yield from iter_cells(
                        sub_value,
                        f"{node}.{sub_key}",
                        self.locate,
                        skip=skip,
                        location=self.locate(value, sub_key),
                    )
            else:
                yield from iter_cells(value, node, self.locate, skip=skip, location=reader.at(key))

    def _check_expressions(self, draft: GraphDraft) -> None:
        for _, _, reader in draft.activities.values():
            for node, message in pipe_problems(reader.data, reader.node):
                self.diag.error(node, message, reader.where)
        for activity_id in draft.activities:
            self._check_cells(draft, activity_id, self._activity_cells(draft, activity_id))
        for source, node, clause, entry in draft.clauses:
            location = self.locate(entry, "conditions")
            cells = iter_cells(
                clause.actual, node, self.locate, skip=frozenset(), location=location
            )
            self._check_cells(draft, source, cells)
        for _, node, rule, entry in draft.rule_nodes:
            location = self.locate(entry, "conditions")
            expected = iter_cells(
                rule.expected, f"{node}.expected", self.locate, skip=frozenset(), location=location
            )
            self._check_cells(draft, rule.to, expected)
            actual = iter_cells(
                rule.actual, f"{node}.actual", self.locate, skip=frozenset(), location=location
            )
            self._check_signal_cells(rule, actual)

    def _check_function(self, cell: Cell) -> None:
        name = function_name(cell.text)
        if "." not in name or not pipe.has_function(name):
            self.diag.error(
                cell.node, f"unknown @pipe function {name!r} in {cell.text!r}", cell.location
            )

    def _check_cells(self, draft: GraphDraft, activity_id: str, cells: Iterable[Cell]) -> None:
        deps = self.deps.setdefault(activity_id, set())
        for cell in cells:
            kind = cell_kind(cell.text)
            if is_unclosed_reference(cell.text):
                message = f"unclosed reference {cell.text!r}: add the closing '}}'"
                self.diag.error(cell.node, message, cell.location)
                continue
            if kind == "function":
                self._check_function(cell)
                continue
            if kind != "reference":
                continue
            parts = reference_path(cell.text)
            root = parts[0]
            if not all(parts):
                self.diag.error(cell.node, f"malformed reference {cell.text!r}", cell.location)
                continue
            if root in draft.broken:
                continue  # its declaration is already reported
            if root not in SPECIAL_ROOTS and root not in draft.activities:
                if root in self.owners:
                    where = f"another graph (app.graphs[{self.owners[root]}])"
                    message = f"{cell.text!r} refers to {root!r}, an activity of {where}"
                else:
                    message = f"{cell.text!r} refers to unknown activity {root!r}"
                self.diag.error(cell.node, message, cell.location)
                continue
            self._warn_unreadable(draft, activity_id, cell, parts)
            found = dependency(cell.text, activity_id)
            if found is not None:
                deps.add(found)

    def _warn_unreadable(
        self, draft: GraphDraft, activity_id: str, cell: Cell, parts: list[str]
    ) -> None:
        """Warn about references that are legal but will always read nothing."""
        root = parts[0]
        if root in draft.activities and root not in draft.visible_from(activity_id):
            self.diag.warn(
                cell.node,
                f"{cell.text!r}: {root!r} is not an ancestor of {activity_id!r}, so its state "
                "is not visible here",
                cell.location,
            )
        elif root in draft.activities and root != activity_id and parts[1:2] == ["input"]:
            self.diag.warn(
                cell.node,
                f"{cell.text!r}: activity inputs are not stored; read {root}.output instead",
                cell.location,
            )
        elif root == "$job" and parts[1:2] == ["data"] and len(parts) > 2:
            path = "/".join(parts[1:])
            if not any(
                p == path or p.startswith(path + "/") or path.startswith(p + "/")
                for p in draft.job_produces
            ):
                self.diag.warn(
                    cell.node,
                    f"{cell.text!r}: no job.maps of this graph writes {path!r}",
                    cell.location,
                )

    def _check_signal_cells(self, rule: HookRule, cells: Iterable[Cell]) -> None:
        """A rule's ``actual`` is resolved against the signal payload only."""
        for cell in cells:
            kind = cell_kind(cell.text)
            if kind == "function":
                self._check_function(cell)
            elif kind == "reference":
                parts = reference_path(cell.text)
                if parts[0] != "$hook" and parts[:2] != ["$self", "hook"]:
                    self.diag.error(
                        cell.node,
                        f"hook {rule.topic!r}: 'actual' is resolved against the signal payload; "
                        f"use {{$self.hook.data...}}, not {cell.text!r}",
                        cell.location,
                    )

    # -- model -----------------------------------------------------------------------------

    def _build(self, app_id: str, version: str, settings: dict[str, Any]) -> AppManifest:
        stored: dict[str, set[str]] = {}
        for deps in self.deps.values():
            for owner, path in deps:
                stored.setdefault(owner, set()).add(path)
        graphs = tuple(self._build_graph(draft, stored) for draft in self.drafts)
        self.diag.raise_if_errors()  # schema problems are found while building
        hook_rules: dict[str, tuple[HookRule, ...]] = {}
        for graph in graphs:
            hook_rules.update(graph.hooks)
        return AppManifest(
            id=app_id,
            version=version,
            settings=settings,
            graphs=graphs,
            subscriptions={graph.subscribes: graph.trigger for graph in graphs},
            activity_graphs={
                activity_id: graph.subscribes
                for graph in graphs
                for activity_id in graph.activities
            },
            hook_rules=hook_rules,
            warnings=self.diag.warnings,
            source=self.loaded.file,
        )

    def _build_graph(self, draft: GraphDraft, stored: dict[str, set[str]]) -> Graph:
        assert draft.trigger is not None  # a graph without one is an error raised earlier
        reader = draft.reader
        input_validator = _check_schema(
            draft.input_schema, f"{draft.node}.input.schema", reader.at("input"), self.diag
        )
        _check_schema(
            draft.output_schema, f"{draft.node}.output.schema", reader.at("output"), self.diag
        )
        activities: dict[str, Activity] = {}
        for activity_id, (cls, fields, sub) in draft.activities.items():
            for name in ("input", "output"):
                _check_schema(
                    fields[f"{name}_schema"], f"{sub.node}.{name}.schema", sub.at(name), self.diag
                )
            consumes: dict[str, list[str]] = {}
            for owner, path in sorted(self.deps.get(activity_id, ())):
                consumes.setdefault(owner, []).append(path)
            extra: dict[str, Any] = {}
            if KINDS[cls.type].wakes_on_signals:
                extra["hook_topic"] = draft.hook_topic_of.get(activity_id)
            activities[activity_id] = cls(
                id=activity_id,
                graph=draft.subscribes,
                parent=draft.parents.get(activity_id),
                ancestors=draft.ancestors.get(activity_id, ()),
                children=tuple(edge.to for edge in draft.transitions.get(activity_id, ())),
                cycle=activity_id in draft.pivots,
                consumes={owner: tuple(paths) for owner, paths in consumes.items()},
                produces=tuple(sorted(stored.get(activity_id, ()))),
                config=sub.data,
                location=sub.where,
                **fields,
                **extra,
            )
        return Graph(
            subscribes=draft.subscribes,
            publishes=draft.publishes,
            expire=draft.expire,
            persistent=reader.data.get("persistent"),
            input_schema=draft.input_schema,
            output_schema=draft.output_schema,
            trigger=draft.trigger,
            activities=activities,
            transitions={src: tuple(edges) for src, edges in draft.transitions.items()},
            hooks={topic: tuple(rules) for topic, rules in draft.hooks.items()},
            job_produces=tuple(draft.job_produces),
            location=reader.where,
            input_validator=input_validator,
        )
