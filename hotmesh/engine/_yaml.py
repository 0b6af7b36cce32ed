"""Reading manifests: YAML with node positions, and ``$ref`` resolution across files."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from attrs import define, field

from hotmesh.engine._diagnostics import Diagnostics, ManifestError
from hotmesh.engine.model import DeployProblem, SourceLocation
from hotmesh.errors import PayloadError
from hotmesh.validation import MAX_DEPTH, check_depth

__all__ = ["LoadedSource", "SourceMap", "load_source", "load_yaml"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_YAML_SUFFIXES = (".yaml", ".yml", ".json")
# Longest string we try as a file name before treating it as YAML text.
_MAX_PATH_LENGTH = 4096


class SourceMap:
    """Where each key of each loaded mapping (and each item of each list) starts.

    Positions are keyed by the identity of the container, so the containers must stay alive
    (the map keeps a reference to each of them).
    """

    def __init__(self) -> None:
        self._entries: dict[int, dict[Any, SourceLocation]] = {}
        self._alive: list[Any] = []

    def record(self, container: Any, entries: dict[Any, SourceLocation]) -> None:
        """Remember the positions of ``container``'s keys (or list indexes)."""
        self._entries[id(container)] = entries
        self._alive.append(container)

    def at(self, container: Any, key: Any) -> SourceLocation | None:
        """Position of ``container[key]``, when known."""
        return self._entries.get(id(container), {}).get(key)


class _TrackingLoader(yaml.SafeLoader):
    """A safe loader that records node positions and duplicate keys."""

    def __init__(self, stream: str, *, file: str | None, source_map: SourceMap) -> None:
        super().__init__(stream)
        self.file = file
        self.source_map = source_map
        self.duplicates: list[DeployProblem] = []

    def location(self, node: yaml.Node) -> SourceLocation:
        mark = node.start_mark
        return SourceLocation(self.file, mark.line + 1, mark.column + 1)


def _construct_map(loader: _TrackingLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    yield data
    seen: dict[Any, SourceLocation] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
            continue
        raw = key_node.value
        if raw in seen:
            loader.duplicates.append(
                DeployProblem(
                    str(raw),
                    f"duplicate key {raw!r} (first declared at line {seen[raw].line})",
                    loader.location(key_node),
                )
            )
        seen[raw] = loader.location(key_node)
    data.update(loader.construct_mapping(node))
    entries: dict[Any, SourceLocation] = {}
    for key_node, _ in node.value:  # flattened by construct_mapping: merged keys included
        key = loader.construct_object(key_node)
        entries.setdefault(key, loader.location(key_node))
    loader.source_map.record(data, entries)


def _construct_seq(loader: _TrackingLoader, node: yaml.SequenceNode) -> Iterator[list[Any]]:
    data: list[Any] = []
    yield data
    data.extend(loader.construct_sequence(node))
    loader.source_map.record(
        data, {index: loader.location(item) for index, item in enumerate(node.value)}
    )


_TrackingLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_TrackingLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(
    text: str, *, file: str | None = None, source_map: SourceMap | None = None
) -> tuple[Any, list[DeployProblem]]:
    """Parse one YAML document, recording positions into ``source_map``.

    Returns the data and the duplicate-key problems found.

    Raises:
        ManifestError: the text is not valid YAML (the message names line and column).

    Example:
        >>> data, problems = load_yaml("a: 1\\nb: [x, y]\\n")
        >>> (data, problems)
        ({'a': 1, 'b': ['x', 'y']}, [])
    """
    loader: _TrackingLoader | None = None
    try:
        # The reader checks every character as it is built: inside the try.
        loader = _TrackingLoader(text, file=file, source_map=source_map or SourceMap())
        data = loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        raise ManifestError([_unreadable(text, exc, file)]) from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ManifestError([DeployProblem(file or "<yaml>", f"invalid YAML: {exc}")]) from exc
    except RecursionError as exc:
        problem = f"invalid YAML: nested too deeply (more than {MAX_DEPTH} levels)"
        raise ManifestError([DeployProblem(file or "<yaml>", problem)]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = SourceLocation(file, mark.line + 1, mark.column + 1) if mark is not None else None
        what = " ".join(part for part in (exc.context, exc.problem) if part) or "syntax error"
        node = str(where) if where is not None else (file or "<yaml>")
        raise ManifestError([DeployProblem(node, f"invalid YAML: {what}", where)]) from exc
    except yaml.YAMLError as exc:
        raise ManifestError([DeployProblem(file or "<yaml>", f"invalid YAML: {exc}")]) from exc
    finally:
        if loader is not None:
            loader.dispose()
    try:
        check_depth(data, "manifest")
    except PayloadError as exc:
        raise ManifestError([DeployProblem(str(exc.value), str(exc))]) from exc
    return data, loader.duplicates


def _unreadable(text: str, exc: yaml.reader.ReaderError, file: str | None) -> DeployProblem:
    """A character YAML does not allow (NUL, lone surrogate, C1 control), with its place."""
    before = text[: exc.position]
    where = SourceLocation(file, before.count("\n") + 1, len(before) - before.rfind("\n"))
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    problem = (
        f"invalid YAML: character U+{ord(char):04X} is not allowed "
        "(NUL, lone surrogates and C0/C1 control characters cannot appear in YAML)"
    )
    return DeployProblem(str(where), problem)


@define
class LoadedSource:
    """A manifest as plain data, plus where it came from."""

    data: Any
    file: str | None
    source_map: SourceMap = field(factory=SourceMap)


def _looks_like_path(text: str) -> bool:
    return (
        "\n" not in text and len(text) < _MAX_PATH_LENGTH and not text.lstrip().startswith("app:")
    )


def load_source(
    source: str | Path | Mapping[str, Any], *, base_dir: Path | None, diag: Diagnostics
) -> LoadedSource:
    """Load a manifest from a file, YAML text or a mapping and resolve its ``$ref`` entries.

    Problems that make the rest of the compile meaningless (bad YAML, unreadable file,
    broken ``$ref``) are raised at once as :class:`ManifestError`.
    """
    source_map = SourceMap()
    file: Path | None = None
    if isinstance(source, Path):
        file = source
    elif isinstance(source, str) and _looks_like_path(source) and Path(source).is_file():
        file = Path(source)
    if isinstance(source, Mapping):
        try:
            check_depth(source, "manifest")
        except PayloadError as exc:
            raise ManifestError([DeployProblem(str(exc.value), str(exc))]) from exc
        data: Any = copy.deepcopy(dict(source))
        loaded = LoadedSource(data, None, source_map)
    elif file is not None:
        data = _read_file(file, node="<source>", location=None, source_map=source_map, diag=diag)
        diag.raise_if_errors()
        loaded = LoadedSource(data, str(file), source_map)
        base_dir = file.resolve().parent
    else:
        text = str(source)
        data, duplicates = load_yaml(text, source_map=source_map)
        diag.extend(duplicates)
        if isinstance(data, str) and data.strip().endswith(_YAML_SUFFIXES):
            diag.error(data.strip(), "manifest file not found")
        loaded = LoadedSource(data, None, source_map)
    diag.raise_if_errors()
    loaded.data = _resolve(
        loaded.data,
        node="",
        base_dir=base_dir,
        stack=((file.resolve(), ""),) if file is not None else (),
        source_map=source_map,
        diag=diag,
    )
    diag.raise_if_errors()
    return loaded


def _read_file(
    path: Path,
    *,
    node: str,
    location: SourceLocation | None,
    source_map: SourceMap,
    diag: Diagnostics,
) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "file not found" if isinstance(exc, FileNotFoundError) else str(exc)
        diag.error(node or str(path), f"cannot read {str(path)!r}: {reason}", location)
        return None
    data, duplicates = load_yaml(text, file=str(path), source_map=source_map)
    diag.extend(duplicates)
    return data


def _pointer(data: Any, pointer: str) -> tuple[bool, Any]:
    """Follow a JSON pointer (``/a/b/0``); report whether every step existed."""
    for raw in (part for part in pointer.split("/") if part):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return False, None
    return True, data


def _child(node: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{node}[{key}]"
    return f"{node}.{key}" if node else str(key)


def _resolve(
    data: Any,
    *,
    node: str,
    base_dir: Path | None,
    stack: tuple[tuple[Path, str], ...],
    source_map: SourceMap,
    diag: Diagnostics,
    location: SourceLocation | None = None,
) -> Any:
    """Replace every ``{$ref: file[#/pointer]}`` below ``data`` by the content it names.

    References that start with ``#`` are left alone: they are JSON Schema internal refs.
    """
    ref = data.get("$ref") if isinstance(data, dict) else None
    if isinstance(ref, str) and not ref.startswith("#"):
        assert isinstance(data, dict)
        location = source_map.at(data, "$ref") or location
        if len(data) > 1:
            ignored = ", ".join(sorted(str(k) for k in data if k != "$ref"))
            diag.warn(node, f"keys beside $ref are ignored: {ignored}", location)
        if base_dir is None:
            diag.error(node, f"$ref {ref!r} needs a file source (or base_dir)", location)
            return None
        file_part, _, pointer = ref.partition("#")
        target = (base_dir / file_part).resolve()
        key = (target, pointer)
        if key in stack:
            chain = " -> ".join(f"{p.name}#{q}" if q else p.name for p, q in (*stack, key))
            diag.error(node, f"$ref cycle: {chain}", location)
            return None
        loaded = _read_file(target, node=node, location=location, source_map=source_map, diag=diag)
        if loaded is None:
            return None
        found, loaded = _pointer(loaded, pointer)
        if not found:
            diag.error(node, f"$ref {ref!r}: pointer {pointer!r} not found", location)
            return None
        return _resolve(
            loaded,
            node=node,
            base_dir=target.parent,
            stack=(*stack, key),
            source_map=source_map,
            diag=diag,
            location=location,
        )
    if isinstance(data, dict):
        for key_name, value in data.items():
            data[key_name] = _resolve(
                value,
                node=_child(node, key_name),
                base_dir=base_dir,
                stack=stack,
                source_map=source_map,
                diag=diag,
                location=source_map.at(data, key_name),
            )
    elif isinstance(data, list):
        for index, value in enumerate(data):
            data[index] = _resolve(
                value,
                node=_child(node, index),
                base_dir=base_dir,
                stack=stack,
                source_map=source_map,
                diag=diag,
                location=source_map.at(data, index),
            )
    return data
