"""Read a spec file with positions and validate it (G1, X2).

ruamel.yaml keeps the line and column of every key and value, so every problem, whether
the YAML is broken, the structure is wrong (pydantic) or a rule is broken
(:mod:`sluis.spec.rules`), is reported as ``file:line:column: rule-id: message``. All
problems are collected and reported at once; a problem is never a traceback.

Reading has a bounded cost (X2): YAML aliases let a few hundred bytes stand for a tree of a
billion nodes (the "billion laughs"), and nesting drives the recursive composer as deep as
the file asks. :data:`LIMITS` caps the file's size, the nesting depth, the number of
aliases and the number of nodes the tree has *with every alias expanded* (what the later
stages walk). The caps are checked while the parser composes the tree, event by event, so a
file past a cap is refused at the node that crosses it, after at most that many nodes'
work, never after building what it describes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent

from sluis.errors import SluisError
from sluis.spec.model import Spec

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Limits:
    """What one spec file may cost to read. The shipped specs are about 54 KB, 2,200 nodes,
    7 levels deep and use no alias; ruamel composes roughly 20,000 nodes a second here, so
    the node cap keeps the worst file under about a second and a few megabytes."""

    #: bytes of the file; more is refused before parsing
    bytes: int = 512 * 1024
    #: nesting of mappings and sequences
    depth: int = 32
    #: aliases (``*name``, including merge keys ``<<: *name``)
    aliases: int = 200
    #: nodes of the tree with every alias expanded
    nodes: int = 20_000


LIMITS = Limits()


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a spec, where it is and which rule it breaks."""

    line: int
    column: int
    rule: str
    message: str
    file: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.rule}: {self.message}"


class SpecError(SluisError):
    """A spec that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(
            first.message, rule=first.rule, file=first.file, line=first.line, column=None
        )
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class Document:
    """A parsed spec file: the raw tree with positions, its bytes' digest and its path."""

    path: Path
    tree: Any
    sha256: str

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at ``path`` (or of its key), falling back to
        the nearest enclosing node that exists in the file."""
        node, found = self.tree, ()
        last = (self.tree.lc.line + 1, self.tree.lc.col + 1)
        for part in path:
            if isinstance(node, CommentedMap) and part in node:
                is_last = len(found) == len(path) - 1
                line, col = node.lc.key(part) if key and is_last else node.lc.value(part)
                last, node, found = (line + 1, col + 1), node[part], (*found, part)
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line, col = node.lc.item(part)
                last, node, found = (line + 1, col + 1), node[part], (*found, part)
            else:
                break
        return last

    def problem(self, path: Path_, rule: str, message: str, *, key: bool = False) -> Problem:
        line, col = self.position(path, key=key)
        return Problem(line, col, rule, message, str(self.path))


def read_document(path: Path, limits: Limits = LIMITS) -> Document:
    """Parse YAML keeping positions; a syntax error, or a file past ``limits``, becomes a
    :class:`SpecError`."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(limits.bytes + 1)  # never more, whatever the file (/dev/zero)
    except OSError as err:
        raise SpecError(
            [Problem(1, 1, "unreadable", err.strerror or str(err), str(path))]
        ) from None
    if len(data) > limits.bytes:
        line = data[: limits.bytes].count(b"\n") + 1
        column = limits.bytes - data.rfind(b"\n", 0, limits.bytes)
        raise SpecError(
            [
                Problem(
                    line,
                    column,
                    "yaml-too-large",
                    f"the file is larger than {limits.bytes:,} bytes, the most a spec may be",
                    str(path),
                )
            ]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SpecError(
            [Problem(line, 1, "yaml-syntax", "the file is not UTF-8 text", str(path))]
        ) from None
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.Composer = _Composer
    yaml.allow_duplicate_keys = False
    yaml.limits = limits  # type: ignore[attr-defined]  # read by _Composer
    try:
        tree = yaml.load(text)
    except _LimitExceeded as err:
        raise SpecError([Problem(err.line, err.column, err.rule, err.message, str(path))]) from None
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        rule = "duplicate-key" if "duplicate key" in str(err) else "yaml-syntax"
        message = " ".join(str(err.problem or err).split())
        raise SpecError([Problem(line, col, rule, message, str(path))]) from None
    except (YAMLError, ValueError, TypeError, OverflowError, RecursionError) as err:
        # errors without a mark (none seen with timestamps kept as text; kept as a net)
        message = " ".join(str(err).split()) or type(err).__name__
        raise SpecError([Problem(1, 1, "yaml-syntax", message, str(path))]) from None
    if not isinstance(tree, CommentedMap):
        raise SpecError(
            [Problem(1, 1, "not-a-mapping", "a spec is a YAML mapping of sections", str(path))]
        )
    return Document(path, tree, hashlib.sha256(data).hexdigest())


class _LimitExceeded(Exception):
    """A cap of :class:`Limits` crossed at a position of the file."""

    def __init__(self, rule: str, mark: Any, message: str) -> None:
        super().__init__(message)
        self.rule, self.message = rule, message
        self.line, self.column = (mark.line + 1, mark.column + 1) if mark else (1, 1)


class _Composer(Composer):
    """ruamel's composer, counting as it goes: aliases, and the expanded size and depth of
    every node (an alias weighs what the node it names weighs and reaches as deep below
    itself), so a billion laughs is refused at its first alias whose expansion crosses the
    node cap, and no alias nests the expanded tree deeper than the depth cap."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.limits: Limits = getattr(loader, "limits", LIMITS)
        self.nodes = 0
        self.aliases = 0
        #: the deepest level the expanded tree reaches below the node being composed
        self.reached = 0
        #: (expanded size, expanded height) of every finished node with an anchor, by id
        self.sizes: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        mark = event.start_mark
        level = self.depth + 1  # the root is at level 1
        if isinstance(event, AliasEvent):
            self.aliases += 1
            if self.aliases > self.limits.aliases:
                raise _LimitExceeded(
                    "yaml-aliases", mark, f"more than {self.limits.aliases} aliases"
                )
            node = super().compose_node(parent, index)  # the anchored node itself
            known = self.sizes.get(id(node))
            if known is None:
                raise _LimitExceeded(
                    "yaml-aliases",
                    mark,
                    f"alias *{event.anchor} is inside the node it names (a structure "
                    "that contains itself)",
                )
            size, height = known
            self._deep(level + height - 1, mark, f" (alias *{event.anchor} is {height} deep)")
            self.reached = max(self.reached, level + height - 1)
            self._count(size, mark, f" (alias *{event.anchor} stands for {size:,})")
            return node
        self._deep(level, mark, "")
        nodes, reached = self.nodes, self.reached
        self.reached = level
        self._count(1, mark, "")
        node = super().compose_node(parent, index)
        if getattr(node, "anchor", None) is not None:
            self.sizes[id(node)] = (self.nodes - nodes, self.reached - level + 1)
        self.reached = max(self.reached, reached)
        return node

    def _deep(self, level: int, mark: Any, why: str) -> None:
        if level > self.limits.depth:
            raise _LimitExceeded(
                "yaml-too-deep", mark, f"nested deeper than {self.limits.depth} levels{why}"
            )

    def _count(self, size: int, mark: Any, why: str) -> None:
        self.nodes += size
        if self.nodes > self.limits.nodes:
            cap = f"more than {self.limits.nodes:,} nodes"
            raise _LimitExceeded(
                "yaml-aliases" if why else "yaml-too-large",
                mark,
                f"the document has {cap} with its aliases expanded{why}"
                if why
                else f"the document has {cap}, the most a spec may have",
            )


class _Constructor(RoundTripConstructor):
    """Dates stay text until pydantic reads them, so an impossible date (2025-02-30) is a
    problem with a position, not an exception inside the YAML parser."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


def check_document(
    doc: Document, *, today: dt.date | None = None
) -> tuple[Spec | None, list[Problem]]:
    """The validated spec (when its structure is right) and every problem found; ``today``
    (default: the system's date) is the day a retention deadline may not precede."""
    from sluis.spec.rules import check_partial, check_spec

    try:
        spec = Spec.model_validate(_plain(doc.tree))
    except ValidationError as err:
        problems = [_from_pydantic(doc, e) for e in err.errors()]
        problems += check_partial(doc)
        return None, _sorted(problems)
    return spec, _sorted(check_spec(spec, doc, today=today))


def load_spec(path: Path, *, today: dt.date | None = None) -> Spec:
    """The spec at ``path``; raises :class:`SpecError` listing every problem."""
    spec, problems = check_document(read_document(path), today=today)
    if problems:
        raise SpecError(problems)
    assert spec is not None
    return spec


def spec_digest(path: Path) -> str:
    """SHA-256 of the spec file's bytes: packages and audit records cite it."""
    return read_document(path).sha256


_RULE_OF_TYPE = {
    "extra_forbidden": "unknown-key",
    "missing": "missing-key",
    "union_tag_invalid": "unknown-kind",
    "union_tag_not_found": "missing-key",
    "literal_error": "bad-value",
    "string_pattern_mismatch": "bad-value",
}


def _from_pydantic(doc: Document, error: Any) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    is_type = kind.endswith(("_type", "_parsing"))
    rule = _RULE_OF_TYPE.get(kind, "bad-type" if is_type else "bad-value")
    name = ".".join(str(p) for p in loc) or "spec"
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}" + _where(loc[:-1])
        return doc.problem(loc, rule, message, key=True)
    if kind in ("missing", "union_tag_not_found"):
        missing = "kind" if kind == "union_tag_not_found" else loc[-1]
        return doc.problem(
            loc[:-1] if kind == "missing" else loc,
            rule,
            f"missing key {missing!r}" + _where(loc[:-1] if kind == "missing" else loc),
        )
    given = error.get("input")
    shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return doc.problem(loc, rule, f"{name}: {error['msg']} (got {shown})")


def _where(loc: tuple[Any, ...]) -> str:
    return f" in {'.'.join(str(p) for p in loc)}" if loc else " at the top level"


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers as plain dicts and lists for pydantic."""
    if isinstance(node, dict):
        return {_key(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _key(key: Any) -> Any:
    return key if isinstance(key, str | int) else str(key)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(set(problems))


def iter_variables(tree: Any) -> Iterator[tuple[Path_, Any]]:
    """(path, raw mapping) of every variable in a raw spec tree, however broken the rest."""
    datasets = tree.get("datasets") if isinstance(tree, dict) else None
    if not isinstance(datasets, dict):
        return
    for name, dataset in datasets.items():
        variables = dataset.get("variables") if isinstance(dataset, dict) else None
        if isinstance(variables, list):
            for i, raw in enumerate(variables):
                if isinstance(raw, dict):
                    yield ("datasets", name, "variables", i), raw
