"""Treatments after local suppression (G5, issue 19): l-diversity, then trajectories.

Local suppression (:mod:`sluis.scra.treatment`) makes every key cell reach k. Two risks
remain that no standard tool treats, and a spec declares both:

- a key cell whose records all share one sensitive value tells an intruder who places a
  person in that cell the value (``scra.sensitive``, :mod:`sluis.scra.diversity`);
- a person's states over a few consecutive quarters isolate them even where every cell of
  a quarter is safe (``scra.longitudinal``, :mod:`sluis.scra.trajectory`).

:func:`treat_further` runs both on the treated extract under ``<out>/staged`` (every
dataset is there: the ones local suppression did not touch are copies of the staged files),
in that order, before ``scra.implied``: l-diversity may suppress a key, and the implied
columns of a key are then treated with it. Each treatment rewrites the files it changes and
appends one explanation per changed value to ``<out>/suppressions/<dataset>.parquet``. The
driver then measures everything again on the final files (issue 19 item 3), so a treatment
that undid another shows as a failing threshold, never as a silent gap.

Only enforced checks are treated; the others are measured and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sluis.atomic import atomic_path
from sluis.scra.diversity import treat_ldiversity
from sluis.scra.diversity_join import match_rows, sensitive_onto, withheld_rows
from sluis.scra.guess import NeighbourAttack, null_support
from sluis.scra.implied import EXPLANATION, append_explanations
from sluis.scra.plan import PERSON, DatasetPlan, Plan, SensitivePlan, TrajectoryPlan
from sluis.scra.result import FurtherTreatment, Recoding
from sluis.scra.trajectory import TrajectoryTreatment, treat_trajectories


def _read(path: Path) -> pa.Table:
    return pq.read_table(path)


def _write(path: Path, table: pa.Table) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _null_rows(table: pa.Table, columns: list[str], rows: np.ndarray) -> pa.Table:
    """``table`` with ``columns`` null on ``rows`` (a boolean mask over its rows)."""
    mask = pa.array(rows)
    for name in columns:
        col = table.column(name)
        table = table.set_column(
            table.schema.get_field_index(name),
            name,
            pc.if_else(mask, pa.scalar(None, col.type), col),
        )
    return table


def newly_null(staged: pa.Table, treated: pa.Table, columns: list[str]) -> np.ndarray:
    """Rows x ``columns``: a value present in the staged file and null in the treated one
    (what every treatment so far suppressed; the files keep the rows in order)."""
    out = np.zeros((staged.num_rows, len(columns)), dtype=bool)
    for j, name in enumerate(columns):
        before = pc.is_valid(staged.column(name)).to_numpy(zero_copy_only=False)
        after = pc.is_null(treated.column(name)).to_numpy(zero_copy_only=False)
        out[:, j] = before & after
    return out


def _explain(
    rows: np.ndarray, variable: str, values: pa.ChunkedArray, rule: pa.Array | str
) -> pa.Table:
    """Explanation rows (the shape of ``suppressions/<dataset>.parquet``) for the values
    of ``variable`` suppressed on ``rows`` (a boolean mask, or the row numbers)."""
    idx = np.flatnonzero(rows) if rows.dtype == bool else rows
    n = len(idx)
    rules = pa.array([rule] * n, pa.string()) if isinstance(rule, str) else rule
    return pa.table(
        {
            "record": pa.array(idx, pa.int64()),
            "variable": pa.array([variable] * n, pa.string()),
            "value": pc.cast(values.take(pa.array(idx)), pa.string()),
            "cell": pa.nulls(n, pa.string()),
            "fk": pa.nulls(n, pa.int64()),
            "rule": rules.cast(pa.string()),
        },
        schema=EXPLANATION,
    )


def _dataset(plan: Plan, name: str) -> DatasetPlan:
    return next(d for d in plan.datasets if d.name == name)


def _ldiversity(
    plan: Plan, out: Path, dataset: str, s: SensitivePlan, ks_k: dict[str, int]
) -> list[FurtherTreatment]:
    """Treat the cells of every key set the sensitive variable is checked on."""
    assert plan.spec is not None and plan.staged is not None
    done = []
    if s.key_set is not None:
        home = next(ks for ks in plan.spec.scra.key_sets if ks.name == s.key_set).dataset
        key_sets = [ks for ks in _dataset(plan, home).key_sets if ks.name == s.key_set]
    else:
        home = dataset
        key_sets = list(_dataset(plan, home).key_sets)
    keys_plan = _dataset(plan, home)
    period = keys_plan.period
    on = [PERSON, *([period] if period else [])]
    for ks in key_sets:
        keys = [k for k in ks.keys if k != period]
        treated_path = out / keys_plan.treated_file
        table = _read(treated_path)
        staged = pq.read_table(keys_plan.path, columns=keys)
        already = newly_null(staged, table, keys)
        sens_path = out / f"staged/{dataset}.parquet"
        sens_table = table if home == dataset else _read(sens_path)
        view = table.select([*keys, *([period] if period else [])])
        # the key rows' rows in the sensitive dataset, once (the join columns never change)
        matched = None if home == dataset else match_rows(table, sens_table, on)
        values = (
            table.column(s.variable)
            if home == dataset
            else sensitive_onto(table, sens_table, on=on, sensitive=s.variable, rows=matched)
        )
        view = view.append_column(s.variable, values)
        result = treat_ldiversity(
            view,
            keys=keys,
            sensitive=s.variable,
            l=s.l,
            k=ks_k.get(home, plan.k),
            period=period,
            already_suppressed=already,
            fixed=list(keys_plan.pinned),
        )
        rule = (
            f"l-diversity of {s.variable} on {home}/{ks.name}: a cell with fewer than {s.l} "
            f"distinct known values of {s.variable}"
        )
        record = FurtherTreatment(
            "l-diversity",
            home,
            s.variable,
            rule,
            per_variable={
                f"{home}.{key}": int(result.keys_suppressed[:, j].sum())
                for j, key in enumerate(keys)
            },
            before=result.cells_below_before,
            after=result.cells_below_after,
            explanations_file=keys_plan.explanations_file,
        )
        # the keys suppressed to pool cells, in the key set's dataset
        added = []
        for j, key in enumerate(keys):
            rows = result.keys_suppressed[:, j]
            if rows.any():
                added.append(_explain(rows, key, table.column(key), rule + ": key pooled"))
                table = _null_rows(table, [key], rows)
        # the sensitive values withheld, and the columns that give them back
        withheld = result.sensitive_suppressed
        target = table if home == dataset else sens_table
        if home != dataset:
            withheld = withheld_rows(table, sens_table, on=on, withheld=withheld, rows=matched)
        sens_added = []
        for column in (s.variable, *s.carried_by) if withheld.any() else ():
            why = rule + (": withheld" if column == s.variable else f": carries {s.variable}")
            valid = pc.is_valid(target.column(column)).to_numpy(zero_copy_only=False)
            present = withheld & valid
            sens_added.append(_explain(present, column, target.column(column), why))
            record.per_variable[f"{dataset}.{column}"] = int(present.sum())
            target = _null_rows(target, [column], present)
        if home == dataset:
            table, added, sens_added = target, added + sens_added, []
        else:
            sens_table = target
        if added:
            append_explanations(out / keys_plan.explanations_file, added)
        _write(treated_path, table)
        if home != dataset:
            if sens_added:
                append_explanations(out / f"suppressions/{dataset}.parquet", sens_added)
            _write(sens_path, sens_table)
        record.values = sum(record.per_variable.values())
        record.examples = [e for t in [*added, *sens_added] for e in t.slice(0, 5).to_pylist()][:20]
        done.append(record)
    return done


#: rounds of the neighbour attack and the treatment again (each suppresses at least one
#: more known value, so they end; on the demo the windows fall by a third or more a round)
GUESS_ROUNDS = 12


def _recodings(
    dataset: str, lg: TrajectoryPlan, kept: tuple[str, ...], before: pa.Table, after: pa.Table
) -> list[Recoding]:
    """The kept recode steps of a trajectory check as the report and codebook list them."""
    out = []
    for step in lg.recode:
        if step.name in kept:
            out.append(
                Recoding(
                    dataset=dataset,
                    variable=step.variable,
                    from_rule=step.from_rule,
                    to_rule=step.to_rule,
                    to=step.to,
                    categories_before=pc.count_distinct(before.column(step.variable)).as_py(),
                    categories_after=pc.count_distinct(after.column(step.variable)).as_py(),
                )
            )
    return out


def recoded_staged(staged: pa.Table, lg: TrajectoryPlan, kept: Sequence[str]) -> pa.Table:
    """The staged panel with the kept recode steps applied (what a right guess is compared
    with once a state was recoded)."""
    for step in lg.recode:
        if step.name in kept:
            col = step.fn(staged.column(step.variable))
            staged = staged.set_column(
                staged.schema.get_field_index(step.variable), step.variable, col
            )
    return staged


def _trajectories(plan: Plan, out: Path, dataset: DatasetPlan) -> list[FurtherTreatment]:
    """Treat every enforced trajectory check of ``dataset`` (a sample's k of 1 needs none):
    the treatment (recodes kept where they lose less information), then the neighbour
    attack (:mod:`sluis.scra.guess`) and, while it isolates windows again, the values that
    carried its guesses suppressed and the treatment run again."""
    done = []
    path = out / dataset.treated_file
    for lg in dataset.longitudinal:
        if not lg.enforce:
            continue
        table = _read(path)
        states = ", ".join(lg.states)
        rule = f"{lg.m}-quarter trajectory of {states} shared by at least {lg.k} persons"
        record = FurtherTreatment(
            "trajectories", dataset.name, states, rule, explanations_file=dataset.explanations_file
        )
        if lg.k <= 1:
            record.per_variable = {f"{dataset.name}.{v}": 0 for v in lg.states}
            done.append(record)
            continue
        staged = pq.read_table(dataset.path, columns=[lg.person, lg.quarter, *lg.states])
        recode = tuple((r.name, r.variable, r.fn) for r in lg.recode)
        current, parts = table, []
        per_variable = dict.fromkeys(lg.states, 0)
        carried = 0
        for attempt in range(GUESS_ROUNDS + 1):
            result = treat_trajectories(
                current,
                person=lg.person,
                quarter=lg.quarter,
                states=list(lg.states),
                m=lg.m,
                k=lg.k,
                consecutive=lg.consecutive,
                recode=recode if attempt == 0 else (),
            )
            if attempt == 0:
                record.before = result.windows_at_risk_before
                record.recoded = _recodings(dataset.name, lg, result.recoded, table, result.table)
                attacker = NeighbourAttack(
                    recoded_staged(staged, lg, result.recoded),
                    person=lg.person,
                    quarter=lg.quarter,
                    states=lg.states,
                    m=lg.m,
                )
            if result.suppressed:
                parts.append(_trajectory_explanations(current, result, lg))
            for v, n in result.per_variable.items():
                per_variable[v] += n
            record.rounds += result.rounds
            record.after = result.unreachable
            current = result.table
            attack = attacker.run(current, lg.k)
            support = {v: rows for v, rows in attack.support.items() if len(rows)}
            if not lg.consecutive or not attack.windows_at_risk or not support:
                break
            if attempt == GUESS_ROUNDS:
                break
            why = (
                f"carried a guess of a suppressed state from equal values around it that left "
                f"a {lg.m}-quarter window shared by fewer than {lg.k} persons"
            )
            for v, rows in support.items():
                parts.append(_explain(rows, v, current.column(v), why))
                per_variable[v] += len(rows)
                carried += len(rows)
            current = null_support(current, support)
        record.per_variable = {f"{dataset.name}.{v}": n for v, n in per_variable.items()}
        record.values = sum(per_variable.values())
        record.guess = {
            "suppressed": attack.suppressed,
            "guessed": attack.guessed,
            "right": attack.right,
            "windows_at_risk": attack.windows_at_risk,
            "carried": carried,
            "rounds": attempt,
        }
        if parts or record.recoded:
            if parts:
                added = pa.concat_tables(parts)
                append_explanations(out / dataset.explanations_file, [added])
                record.examples = added.slice(0, 20).to_pylist()
            _write(path, current)
        done.append(record)
    return done


def _trajectory_explanations(before: pa.Table, result: TrajectoryTreatment, lg) -> pa.Table:
    """The trajectory treatment's explanations (person, quarter, variable, window, rule)
    as rows of the dataset's explanation file: the treatment gives the row of each
    suppressed value (no join on person and quarter), by variable, rows ascending."""
    rules = result.explanations.column("rule")
    parts = []
    for v, variable in enumerate(lg.states):
        at = result.variables == v
        rule = rules.filter(pa.array(at))
        parts.append(_explain(result.rows[at], variable, before.column(variable), rule))
    return pa.concat_tables(parts)


def treat_further(
    plan: Plan, out: Path, ks_k: dict[str, int], only: set[str] | None = None
) -> list[FurtherTreatment]:
    """l-diversity, then trajectories, on the treated extract under ``out`` (see the module
    docstring). ``ks_k``: the k local suppression reached per dataset (a pooled cell must
    keep it); ``only``: treat only the checks on these datasets (a second round)."""
    if plan.spec is None or not plan.treat:
        return []
    done: list[FurtherTreatment] = []
    for dataset, s in plan.sensitive:
        home = dataset
        if s.key_set is not None:
            home = next(ks.dataset for ks in plan.spec.scra.key_sets if ks.name == s.key_set)
        if s.enforce and s.checked and s.l > 1 and (only is None or home in only):
            done += [
                t for t in _ldiversity(plan, out, dataset, s, ks_k) if only is None or t.values
            ]
    for dataset in plan.datasets:
        if only is None or dataset.name in only:
            done += [t for t in _trajectories(plan, out, dataset) if only is None or t.values]
    return done
