"""What `sluis deliver` checks before it builds anything: that the run in the workspace is
bound to this spec and a delivery phase, inside the retention deadline, that its SCRA
thresholds hold, and that every researcher's key can be encrypted to (G1, A5, G5, G8).

Apart from :mod:`sluis.flow.deliver` so that the refusals, which decide whether data may
leave at all, read on their own, and the delivery itself reads as its steps."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sluis.deliver.encrypt import EncryptionError, parse_recipient, recipients_of
from sluis.errors import SluisError, UsageError
from sluis.spec.model import Spec

#: the fields of ``run.json`` that bind a run to its spec and phase (written since issue 23)
RUN_BINDING = ("spec_sha256", "phase", "phase_mode")


class DeliveryRefused(SluisError):
    """A delivery the rules do not allow: another spec than the run's, an enclave phase,
    past the retention deadline, thresholds, privacy scan, an unusable recipient key. The
    CLI exits 1 on it (2 is a usage error)."""


def run_record(work: Path, spec: Spec) -> dict[str, Any]:
    """The ``run.json`` of the run in ``work``; {} when the run wrote none (an older sluis
    without it is refused by :func:`check_binding`); a usage error when there is no run."""
    record = work / "run.json"
    if not record.is_file():
        scra = work / spec.pseudonymiser / "scra" / "scra.json"
        if not scra.exists():
            raise UsageError(
                "no run in the workspace (no run.json, no SCRA result)",
                rule="no-run",
                file=str(work),
                hint="run `sluis run` first",
            )
        return {}
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UsageError(
            f"cannot read the run's record: {err}", rule="run-record", file=str(record)
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            "the run's record is not a JSON object", rule="run-record", file=str(record)
        )
    return data


def check_binding(
    spec: Spec, spec_path: Path, digest: str, run: dict[str, Any], work: Path, created: dt.date
) -> None:
    """Refuse a delivery the run and the spec do not allow (G1, A5): another spec than the
    run's, an enclave phase, a date past the retention deadline, or a run that recorded
    neither (older runs)."""
    record = work / "run.json"
    rerun = f"rerun it: sluis run {spec_path} --work {work} --phase 1 --force"
    missing = [k for k in RUN_BINDING if not run.get(k)]
    if missing:
        raise DeliveryRefused(
            "the run does not record the spec, phase and mode it ran ("
            + ", ".join(missing)
            + " missing: a run of an older sluis); its data cannot be bound to a delivery",
            rule="run-unbound",
            file=str(record),
            hint=rerun,
        )
    if run["spec_sha256"] != digest:
        raise DeliveryRefused(
            f"the run used spec {run.get('decision', '?')} (digest {str(run['spec_sha256'])[:12]}"
            f"...), not this one ({spec.decision.id}, digest {digest[:12]}...)",
            rule="spec-mismatch",
            file=str(spec_path),
            hint="deliver with the spec the run used, or run this spec first",
        )
    phase = run["phase"]
    mode = run["phase_mode"]
    declared = spec.phases.get(phase) if isinstance(phase, int) else None
    if mode != "delivery" or declared is None or declared.mode != "delivery":
        where = f" (§{declared.paragraph})" if declared is not None and declared.paragraph else ""
        what = (
            "an enclave phase"
            if "enclave" in (mode, getattr(declared, "mode", ""))
            else ("not a delivery phase of the spec")
        )
        raise DeliveryRefused(
            f"phase {phase} of {spec.decision.id} is {what}{where}: its data are "
            "analysed on site and never leave the pseudonymiser",
            rule="enclave-phase",
            file=str(record),
            hint="only a delivery phase is delivered (sluis run --phase 1)",
        )
    deadline = spec.retention.deadline
    if deadline is not None and created > deadline:
        where = f" (§{spec.retention.paragraph})" if spec.retention.paragraph else ""
        raise DeliveryRefused(
            f"the delivery date {created.isoformat()} is after the spec's retention deadline "
            f"{deadline.isoformat()}{where}: the data must be destroyed by then, not sent",
            rule="past-deadline",
            file=str(spec_path),
        )


def check_scra(scra_dir: Path) -> None:
    """Refuse when the run's SCRA says the spec's thresholds do not hold (G5)."""
    result = scra_dir / "scra.json"
    if not result.exists():
        raise UsageError(
            "no SCRA result in the workspace",
            rule="no-scra",
            file=str(result),
            hint="run `sluis run` first",
        )
    if not json.loads(result.read_text()).get("ok"):
        raise DeliveryRefused(
            "the spec's disclosure thresholds do not hold for this extract (SCRA)",
            rule="scra-failed",
            file=str(result),
            hint=f"read {scra_dir / 'scra.html'}; nothing was delivered",
        )


def check_recipients(spec: Spec, spec_path: Path) -> None:
    """Refuse before anything is built when a researcher's key cannot be encrypted to."""
    if not recipients_of(spec):
        raise DeliveryRefused(
            "the spec names no researcher to encrypt to",
            rule="deliver-recipient",
            file=str(spec_path),
        )
    for researcher in spec.recipient.researchers:
        if not researcher.public_key:
            continue
        try:
            parse_recipient(researcher.public_key)
        except EncryptionError as err:
            raise DeliveryRefused(
                f"{researcher.name}: the public key cannot be encrypted to: {err.message}",
                rule=err.rule,
                file=str(spec_path),
                hint="put the researcher's ssh-ed25519 or age1 public key in the spec and "
                "run it again; nothing was built",
            ) from None
