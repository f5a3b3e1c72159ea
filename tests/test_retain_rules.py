"""The register's rules on any day (G9, G10; issue 18 items 1, 4, 5): the state of an entry
and its order in the list follow from its events and the one clock; early destruction
needs a reason; every register line is an audit record, and one lost between the two
writes is recovered."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluis.audit import open_log, verify
from sluis.errors import UsageError
from sluis.retain import register
from sluis.retain.clock import parse_days, today
from sluis.retain.shred import DestructionRefused, check_allowed

DEADLINE = dt.date(2029, 10, 31)
days = st.integers(-400, 400).map(lambda n: DEADLINE + dt.timedelta(days=n))
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _log(home: Path):
    return open_log(home / "audit.log", party="ksz", store=home / "keys", events=register.EVENTS)


def _deliver(home: Path, name: str, deadline: dt.date | None = DEADLINE) -> None:
    with _log(home) as audit:
        facts = {"decision": "25/074", "deadline": deadline and deadline.isoformat()}
        register.append(home, "delivered", name, {**facts, "date": "2026-12-01"}, audit=audit)


@SETTINGS
@given(day=days, events=st.lists(st.sampled_from(["destruction-requested", "destroyed"])))
def test_g9_an_entry_is_overdue_exactly_when_its_deadline_passed_undestroyed(
    tmp_path_factory: pytest.TempPathFactory, day: dt.date, events: list[str]
) -> None:
    home = tmp_path_factory.mktemp("reg")
    _deliver(home, "d1")
    with _log(home) as audit:
        for event in events:
            register.append(home, event, "d1", {"reason": "x"}, audit=audit)
    (entry,) = register.entries(home, today=day)
    assert entry.days_left == (DEADLINE - day).days
    if "destroyed" in events:
        assert entry.state == "destroyed"
    elif "destruction-requested" in events:
        assert entry.state == "destruction-requested"
    else:
        assert entry.state == ("overdue" if day > DEADLINE else "delivered")


@SETTINGS
@given(
    deadlines=st.lists(st.one_of(st.none(), days), min_size=1, max_size=6),
    day=days,
)
def test_g9_overdue_entries_come_first_then_by_deadline(
    tmp_path_factory: pytest.TempPathFactory, deadlines: list, day: dt.date
) -> None:
    home = tmp_path_factory.mktemp("reg")
    for i, deadline in enumerate(deadlines):
        _deliver(home, f"d{i}", deadline)
    found = register.entries(home, today=day)
    states = [e.state for e in found]
    assert states == sorted(states, key=lambda s: s != "overdue")
    rest = [e.deadline or dt.date.max for e in found if e.state != "overdue"]
    assert rest == sorted(rest)


@given(day=days, reason=st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=20)))
def test_g9_destroying_before_the_deadline_needs_a_reason(day: dt.date, reason) -> None:
    entry = register.Entry(delivery="d1", deadline=DEADLINE)
    if day < DEADLINE and not reason:
        with pytest.raises(DestructionRefused) as err:
            check_allowed(entry, today=day, reason=reason)
        assert err.value.rule == "early-destruction"
    else:
        check_allowed(entry, today=day, reason=reason)
    entry.state = "destroyed"
    with pytest.raises(DestructionRefused):
        check_allowed(entry, today=day, reason="again")


def test_g10_every_register_line_is_an_audit_record_and_a_lost_one_is_recovered(
    tmp_path: Path,
) -> None:
    """A kill between the audit record and the register line: the next append copies the
    record over; the log verifies; an unknown event is refused."""
    _deliver(tmp_path, "d1")
    with _log(tmp_path) as audit:
        audit.append("destruction-requested", {"delivery": "d1", "reason": "done"})  # then a kill
        register.append(tmp_path, "destroyed", "d1", {"reason": "done"}, audit=audit)
        with pytest.raises(register.RegisterError):
            register.append(tmp_path, "sent", "d1", {}, audit=audit)
    lines = register.lines(tmp_path)
    assert [x["event"] for x in lines] == ["delivered", "destruction-requested", "destroyed"]
    records = {
        json.loads(x)["seq"]: json.loads(x)
        for x in (tmp_path / "audit.log").read_text().splitlines()
    }
    assert all(records[x["audit_seq"]]["hash"] == x["audit_hash"] for x in lines)
    assert verify(tmp_path / "audit.log").ok


def test_g9_g10_the_ttps_destruction_of_provider_data_is_not_a_register_line(
    tmp_path: Path,
) -> None:
    """26/050: Statbel's log has ``destroyed`` records of the providers' extracts (B1, no
    delivery); the register's catch-up copies only records about a delivery (found by the
    demo: the next append copied them and the register could no longer be read)."""
    with _log(tmp_path) as audit:
        audit.append("destroyed", {"files": [{"name": "received/ksz/extract.tar"}]})
    _deliver(tmp_path, "d1")
    assert [x["event"] for x in register.lines(tmp_path)] == ["delivered"]
    assert [e.delivery for e in register.entries(tmp_path, today=dt.date(2026, 12, 7))] == ["d1"]


def test_g9_a_register_cut_mid_line_is_read_and_appended_to(tmp_path: Path) -> None:
    _deliver(tmp_path, "d1")
    with (tmp_path / register.FILE).open("ab") as fh:
        fh.write(b'{"delivery":"d1","ev')  # a kill mid-write
    assert [e.delivery for e in register.entries(tmp_path, today=DEADLINE)] == ["d1"]
    _deliver(tmp_path, "d2")
    assert [e.delivery for e in register.entries(tmp_path, today=DEADLINE)] == ["d1", "d2"]


@given(n=st.integers(0, 10_000), unit=st.sampled_from(["", "d", "w", "D", "W"]))
def test_g9_due_within_spans(n: int, unit: str) -> None:
    assert parse_days(f"{n}{unit}") == n * (7 if unit.lower() == "w" else 1)


@pytest.mark.parametrize("bad", ["", "d", "-3d", "3m", "ninety"])
def test_g9_a_bad_span_or_date_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_days(bad)
    with pytest.raises(UsageError):
        today(bad or "2029-13-01")


def test_g9_the_clock_is_the_given_day_or_the_date_in_brussels() -> None:
    assert today("2029-10-31") == DEADLINE == today(DEADLINE)
    from zoneinfo import ZoneInfo

    assert today() == dt.datetime.now(ZoneInfo("Europe/Brussels")).date()
