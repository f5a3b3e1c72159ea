"""Reading a spec has a bounded cost (X2, G1): a billion laughs, deep nesting, a recursive
alias or a huge file are refused with a located problem, in fixed time and memory, and any
document of nested mappings, sequences, anchors and aliases either loads or is refused
cleanly, exactly when it crosses a cap."""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sluis.cli.app import app
from sluis.spec import SpecError
from sluis.spec.load import LIMITS, Limits, check_document, read_document
from sluis.spec.rules import RULES

ROOT = Path(__file__).resolve().parents[1]

#: the classic "billion laughs": nine levels of nine aliases, 9**9 (387 million) scalars
#: and over 10**9 nodes when expanded, in 600 bytes
BILLION_LAUGHS = "".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(
            f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n"
            for a, b in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)

#: a guard against a runaway parse (an unbounded bomb takes minutes to hours and gigabytes),
#: not a speed measure: the refusals' positions and the memory peak show the work is bounded;
#: a loaded CI machine must not fail it (speed is measured in bench/, never here)
HANG = 30.0


def _refusal(path: Path, limits: Limits = LIMITS) -> SpecError:
    with pytest.raises(SpecError) as err:
        read_document(path, limits)
    return err.value


def test_x2_a_billion_laughs_is_refused_in_fixed_time_and_memory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    tracemalloc.start()
    start = time.perf_counter()
    error = _refusal(path)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    (problem,) = error.problems
    # refused at the alias that takes the tree past 20,000 nodes: line e's second *d
    # (each *d stands for 7,381 nodes; lines a-d and the first *d make 15,690)
    line_e = BILLION_LAUGHS.splitlines()[4]
    second = line_e.index("*d", line_e.index("*d") + 1) + 1
    assert (problem.rule, problem.line, problem.column) == ("yaml-aliases", 5, second)
    assert "20,000 nodes" in problem.message and "*d" in problem.message
    assert elapsed < HANG, elapsed
    assert peak < 5_000_000, peak


def test_x2_spec_check_refuses_the_bomb_with_one_located_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["spec", "check", str(path)])
    assert time.perf_counter() - start < HANG
    assert result.exit_code == 1
    assert f"{path}:5:" in result.output and ": yaml-aliases: " in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("levels", [33, 1_000, 200_000])
def test_x2_deep_nesting_is_refused_where_it_crosses_the_cap(tmp_path: Path, levels: int) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * levels + "]" * levels + "\n")
    start = time.perf_counter()
    (problem,) = _refusal(path).problems
    # ruamel's scanner looks ahead over a line's first 1,024 characters for a simple key,
    # quadratically in the open flow levels (about 0.5 s here); no longer a line costs more
    assert time.perf_counter() - start < HANG
    # the root mapping is level 1, the first "[" level 2: the 32nd "[" is level 33
    assert (problem.rule, problem.line, problem.column) == ("yaml-too-deep", 1, 3 + 31 + 1)


def test_x2_an_alias_cannot_nest_past_the_depth_cap(tmp_path: Path) -> None:
    """Depth counts the tree with aliases expanded: what later stages walk."""
    inner = "[" * 20 + "1" + "]" * 20
    path = tmp_path / "deep-alias.yaml"
    path.write_text(f"a: &x {inner}\nb: {'[' * 20}*x{']' * 20}\n")
    (problem,) = _refusal(path).problems
    assert (problem.rule, problem.line, problem.column) == ("yaml-too-deep", 2, 24)
    assert "alias *x" in problem.message


def test_x2_an_alias_inside_the_node_it_names_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("a: &x [1, {b: *x}]\n")
    (problem,) = _refusal(path).problems
    assert (problem.rule, problem.line, problem.column) == ("yaml-aliases", 1, 15)
    assert "inside the node it names" in problem.message


def test_x2_too_many_aliases(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("a: &x 1\nb: [" + ", ".join(["*x"] * 201) + "]\n")
    (problem,) = _refusal(path).problems
    assert (problem.rule, problem.line) == ("yaml-aliases", 2)
    assert problem.column == 5 + 200 * 4  # the 201st alias
    assert "200 aliases" in problem.message


def test_x2_too_many_nodes_without_aliases(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_text("a: [" + ",".join(["1"] * 25_000) + "]\n")
    start = time.perf_counter()
    (problem,) = _refusal(path).problems
    assert time.perf_counter() - start < HANG
    assert problem.rule == "yaml-too-large" and "20,000 nodes" in problem.message


def test_x2_a_file_past_the_size_cap_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    line = "# " + "x" * 97 + "\n"  # 100 bytes
    path.write_text(line * 200_000)  # 20 MB
    tracemalloc.start()
    (problem,) = _refusal(path).problems
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problem.rule == "yaml-too-large"
    cap = LIMITS.bytes
    # pointing at the first byte past the cap
    assert (problem.line, problem.column) == (cap // 100 + 1, cap % 100 + 1)
    assert peak < 3 * cap, peak


def test_x2_the_shipped_specs_are_well_inside_the_caps() -> None:
    """The caps leave room for specs several times the shipped ones."""
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        assert path.stat().st_size * 4 < LIMITS.bytes
        spec, problems = check_document(read_document(path, Limits(nodes=5_000, depth=8)))
        assert spec is not None and not problems, problems


# -- property: any nesting of mappings, sequences, anchors and aliases -------------------


@dataclass
class _Shape:
    """What a generated document weighs, with every alias expanded."""

    nodes: int = 0
    depth: int = 0
    aliases: int = 0
    recursive: bool = False
    #: whether the document uses aliases at all (half do not: the node cap alone)
    aliasing: bool = True
    #: the level from which every node is a scalar (at most 7: within the depth cap)
    bottom: int = 12


def _render(
    draw: st.DrawFn, level: int, anchors: dict[str, tuple[int, int]], open_: set[str], shape: _Shape
) -> tuple[str, int, int]:
    """(text, expanded size, expanded height) of one random node at ``level``."""
    kind = draw(
        st.sampled_from(
            ["scalar", "seq", "map", "alias"]
            if shape.aliasing and (anchors or open_)
            else ["scalar", "seq", "map"]
        )
    )
    if kind == "alias":
        name = draw(st.sampled_from(sorted({*anchors, *open_})))
        shape.aliases += 1
        if name in open_:
            shape.recursive = True
            return f"*{name}", 1, 1
        size, height = anchors[name]
        shape.depth = max(shape.depth, level + height - 1)
        return f"*{name}", size, height
    shape.depth = max(shape.depth, level)
    anchor = f"n{len(anchors) + len(open_)}" if draw(st.booleans()) else None
    if anchor:
        open_.add(anchor)
    if kind == "scalar" or level >= shape.bottom:
        text, size, height = draw(st.sampled_from(["1", "x", "''", "null"])), 1, 1
    else:
        children = [
            _render(draw, level + 1, anchors, open_, shape) for _ in range(draw(st.integers(0, 4)))
        ]
        size = 1 + sum(c[1] for c in children) + (len(children) if kind == "map" else 0)
        height = 1 + max([c[2] for c in children] or [0])
        if kind == "map":
            shape.depth = max(shape.depth, level + 1) if children else shape.depth
            text = "{" + ", ".join(f"k{i}: {c[0]}" for i, c in enumerate(children)) + "}"
        else:
            text = "[" + ", ".join(c[0] for c in children) + "]"
    if anchor:
        open_.discard(anchor)
        anchors[anchor] = (size, height)
        text = f"&{anchor} {text}"
    return text, size, height


@st.composite
def _documents(draw: st.DrawFn) -> tuple[str, _Shape]:
    shape = _Shape(aliasing=draw(st.booleans()), bottom=draw(st.integers(3, 12)))
    anchors: dict[str, tuple[int, int]] = {}
    open_: set[str] = set()
    entries = []
    for i in range(draw(st.integers(1, 6))):
        text, size, _ = _render(draw, 2, anchors, open_, shape)
        entries.append(f"k{i}: {text}")
        shape.nodes += 1 + size  # the key and its value
    shape.nodes += 1  # the root mapping
    shape.depth = max(shape.depth, 2)
    return "\n".join(entries) + "\n", shape


_SMALL = Limits(bytes=64 * 1024, depth=7, aliases=6, nodes=80)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(_documents())
def test_x2_any_nesting_of_aliases_loads_or_is_refused_cleanly(
    tmp_path: Path, document: tuple[str, _Shape]
) -> None:
    """Refused exactly when the expanded tree crosses a cap (or an alias names a node it is
    inside), with a rule of that cap and a position; otherwise read; never a traceback."""
    text, shape = document
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    over = {
        "yaml-too-deep": shape.depth > _SMALL.depth,
        "yaml-aliases": shape.aliases > _SMALL.aliases or shape.recursive,
        "nodes": shape.nodes > _SMALL.nodes,
    }
    start = time.perf_counter()
    try:
        doc = read_document(path, _SMALL)
    except SpecError as err:
        (problem,) = err.problems
        event(problem.rule)
        assert problem.rule in RULES and problem.line >= 1 and problem.column >= 1
        allowed = {k for k, v in over.items() if v}
        if over["nodes"]:
            allowed |= {"yaml-too-large", "yaml-aliases"}
        assert problem.rule in allowed, (problem, shape, text)
    else:
        event("read")
        assert not any(over.values()), (shape, text)
        _, problems = check_document(doc)  # the structural check walks the expanded tree
        assert all(p.rule in RULES for p in problems)
    assert time.perf_counter() - start < HANG
