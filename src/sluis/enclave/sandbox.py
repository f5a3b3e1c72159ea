"""Run one researcher's job in a bubblewrap sandbox with limits (A5).

What the job sees: its code (``/code``, read-only), the enclave's data (``/data``,
read-only), its output folder (``/output``, writable), the helper library (read-only, on
``PYTHONPATH``), the interpreter (the project's venv and its base Python, or Debian's R under
``/usr``), a private ``/tmp`` in memory, ``/proc`` of its own processes and a minimal
``/dev``. Nothing else of the host: no key store, no audit log, no registers, no other
project, not the rest of the enclave. Its environment is empty but for ``SLUIS_DATA``,
``SLUIS_OUTPUT``, ``PATH``, ``HOME=/tmp``, ``LANG``, ``PYTHONPATH`` and ``SLUIS_OUTPUT_R``
(the helper library's R file), and ``PWD=/code``, which bubblewrap sets.

How it is held:

- **Network**: a new network namespace with nothing in it (not even the host's loopback:
  a server on the host's 127.0.0.1 is unreachable).
- **Processes and identity**: new PID, IPC, UTS and cgroup namespaces; ``--die-with-parent``
  and ``--new-session`` (no terminal to inject into). Inside, ``setpriv`` drops to a user id
  of its own (``JOB_UID_BASE`` + the supervisor's pid: no other process on the machine has
  it), with no capabilities, no supplementary groups and ``no_new_privs``. The job runs in
  the host's user namespace on purpose: the kernel's per-user process limit
  (``RLIMIT_NPROC``) does not apply to root, nor to a job that is root in a user namespace
  mapped to root, so a fork bomb is bounded only with a user id of its own.
- **Limits** (``prlimit`` inside the sandbox, inherited by every process of the job):
  address space (``RLIMIT_AS``, the memory limit), processes and threads
  (``RLIMIT_NPROC``), file size (``RLIMIT_FSIZE``, each file at most the output limit),
  no core dumps. The wall-time limit is the supervisor's: it kills the sandbox's process
  group, and with it (``--die-with-parent``, the PID namespace) every process of the job.
  After the run the output folder's total size is checked too.

Measured on the development machine (Linux 6.18, cgroup v1, bubblewrap 0.8): the memory and
process limits hold with rlimits; cgroups would need root's hierarchy, which a sandbox must
not depend on. See docs/enclave.md, "The sandbox".
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from sluis.errors import SluisError, UsageError
from sluis.spec.model import Enclave as EnclaveSpec

Language = Literal["python", "r"]
State = Literal["finished", "failed", "stopped"]
#: the job's user ids start here (one per supervising process: JOB_UID_BASE + its pid)
JOB_UID_BASE = 200_000
#: where the sandbox finds the helper library
LIBRARY_MOUNT = "/opt/sluis/researcher"
_MIB = 1 << 20
#: signs in a failed job's stderr that it hit the memory or the process limit
_MEMORY = re.compile(
    r"MemoryError|Cannot allocate memory|cannot allocate vector|std::bad_alloc|out of memory"
)
_PROCESSES = re.compile(r"BlockingIOError|Resource temporarily unavailable|cannot fork")
_FILE_SIZE = re.compile(r"File too large")
#: the last line of a Python or R error: only its type is recorded, never its message,
#: which a job controls (it could carry data into run.json)
_ERROR_TYPE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt))\b")


class SandboxError(SluisError):
    """The sandbox cannot be set up here (no bubblewrap, not root)."""


@dataclass(frozen=True)
class Limits:
    """What one job may use; from the spec's ``enclave:`` section, lowered (never raised)
    from the command line."""

    wall_seconds: int
    memory_mib: int
    output_mib: int
    processes: int

    @classmethod
    def from_spec(cls, enclave: EnclaveSpec | None) -> Limits:
        e = enclave or EnclaveSpec(min_frequency=10)
        return cls(e.wall_seconds, e.memory_mib, e.output_mib, e.processes)

    def lowered(self, **given: int | None) -> Limits:
        """These limits with the ``given`` ones, each at most the spec's."""
        changes = {k: v for k, v in given.items() if v is not None}
        for name, value in changes.items():
            ceiling = getattr(self, name)
            if not 1 <= value <= ceiling:
                raise UsageError(
                    f"--{name.replace('_', '-')} {value}: the spec allows 1 to {ceiling}",
                    rule="limit-above-spec",
                    hint="a job's limits can be lowered from the command line, not raised",
                )
        return replace(self, **changes)

    def as_record(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """How a job's run ended."""

    state: State
    exit_code: int | None
    #: one line a supervisor can act on; empty when the job finished
    reason: str
    seconds: float


def _interpreter(language: Language) -> tuple[list[str], list[Path], str]:
    """The command prefix, the host folders to mount read-only and the ``PATH`` of a
    language: Python is this process's own (the project's venv, so duckdb and pyarrow are
    there, and its base interpreter); R is Debian's Rscript."""
    if language == "python":
        venv, base = Path(sys.prefix), Path(sys.base_prefix)
        mounts = [base] if venv == base else [base, venv]
        return [str(venv / "bin" / "python"), "-B"], mounts, f"{venv / 'bin'}:/usr/bin:/bin"
    # R's configuration, and the BLAS and LAPACK it links through Debian's alternatives
    return (
        ["/usr/bin/Rscript", "--vanilla"],
        [Path("/etc/R"), Path("/etc/alternatives")],
        "/usr/bin:/bin",
    )


def _parents(paths: list[Path]) -> list[Path]:
    """Every folder above ``paths`` that the sandbox must create (outside /usr)."""
    found: set[Path] = set()
    for path in paths:
        for parent in path.parents:
            if parent != Path("/") and parent.parts[1] != "usr":
                found.add(parent)
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def bwrap_command(
    entry: list[str],
    *,
    language: Language,
    code: Path,
    data: Path,
    output: Path,
    library: Path | None,
    limits: Limits,
    uid: int,
) -> list[str]:
    """The whole command line: bwrap, then prlimit and setpriv inside, then the job."""
    prefix, mounts, path = _interpreter(language)
    env = {
        "SLUIS_DATA": "/data",
        "SLUIS_OUTPUT": "/output",
        "PATH": path,
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
    }
    if library is not None:
        env["PYTHONPATH"] = LIBRARY_MOUNT
        env["SLUIS_OUTPUT_R"] = f"{LIBRARY_MOUNT}/sluis_output.R"
    argv = ["bwrap", "--unshare-net", "--unshare-ipc", "--unshare-pid", "--unshare-uts"]
    argv += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if Path(f"/{link}").is_symlink():
            argv += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    # the private /tmp first: an interpreter under /tmp (a clone or venv there) is bound
    # over it, not hidden by it
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    outside = [*mounts, *([Path(LIBRARY_MOUNT)] if library is not None else [])]
    for folder in _parents(outside):
        argv += ["--perms", "0755", "--dir", str(folder)]
    for mount in mounts:
        argv += ["--ro-bind", str(mount), str(mount)]
    if library is not None:
        argv += ["--ro-bind", str(library), LIBRARY_MOUNT]
    argv += ["--ro-bind", str(code), "/code", "--ro-bind", str(data), "/data"]
    argv += ["--bind", str(output), "/output"]
    argv += ["--chdir", "/code"]
    argv += [
        "/usr/bin/prlimit",
        f"--as={limits.memory_mib * _MIB}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.output_mib * _MIB}",
        "--core=0",
        "--",
        "/usr/bin/setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
        *prefix,
        *entry,
    ]
    return argv


def require_sandbox() -> None:
    """Refuse to run a job where the sandbox cannot hold it."""
    if os.geteuid() != 0:
        raise SandboxError(
            "the enclave's sandbox runs each job under a user id of its own, which needs root",
            rule="sandbox-needs-root",
            hint="run sluis enclave submit as root (the enclave's service account) at the provider",
        )
    for tool in ("/usr/bin/bwrap", "/usr/bin/prlimit", "/usr/bin/setpriv"):
        if not Path(tool).is_file():
            raise SandboxError(
                f"{tool} is missing",
                rule="sandbox-missing",
                hint="install bubblewrap and util-linux (./dev setup)",
            )


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _reclaim(output: Path) -> list[str]:
    """Give the output folder back to the supervisor: every file owned by it again, and
    anything that is not a plain file or folder removed (a symbolic link would point the
    checks and the release at a file of the host). Returns what was removed."""
    removed = []
    for p in sorted(output.rglob("*"), reverse=True):
        if p.is_symlink() or not (p.is_file() or p.is_dir()):
            removed.append(p.relative_to(output).as_posix())
            p.unlink()
            continue
        os.lchown(p, 0, 0)
    os.lchown(output, 0, 0)
    return removed


def _error_type(stderr: Path) -> str:
    lines = [ln for ln in _tail(stderr).splitlines() if ln.strip()]
    match = _ERROR_TYPE.match(lines[-1].strip()) if lines else None
    return f" ({match.group(1)})" if match else ""


def _tail(path: Path, size: int = 16384) -> str:
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - size))
        return fh.read().decode("utf-8", "replace")


def run_sandboxed(
    entry: list[str],
    *,
    language: Language,
    code: Path,
    data: Path,
    output: Path,
    logs: Path,
    library: Path | None,
    limits: Limits,
) -> Outcome:
    """Run ``entry`` (the script and its arguments, relative to ``/code``) in the sandbox;
    stdout and stderr go to ``logs/stdout.txt`` and ``logs/stderr.txt``. Returns how it
    ended: ``finished`` (exit 0 within every limit), ``stopped`` (a limit broken) or
    ``failed`` (any other non-zero exit)."""
    require_sandbox()
    uid = JOB_UID_BASE + os.getpid()
    output.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    os.chown(output, uid, uid)
    argv = bwrap_command(
        entry,
        language=language,
        code=code,
        data=data,
        output=output,
        library=library,
        limits=limits,
        uid=uid,
    )
    started = time.monotonic()
    timed_out = False
    with (logs / "stdout.txt").open("wb") as out, (logs / "stderr.txt").open("wb") as err:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
        try:
            code_ = proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):  # it ended just now
                os.killpg(proc.pid, signal.SIGKILL)
            code_ = proc.wait()
    seconds = round(time.monotonic() - started, 3)
    removed = _reclaim(output)
    written = folder_size(output) + folder_size(logs)
    if timed_out:
        return Outcome(
            "stopped", None, f"wall-time limit: stopped after {limits.wall_seconds} s", seconds
        )
    tail = _tail(logs / "stderr.txt") if code_ != 0 else ""
    if _FILE_SIZE.search(tail):
        reason = f"output limit: a file grew past {limits.output_mib} MiB"
        return Outcome("stopped", code_, reason, seconds)
    if written > limits.output_mib * _MIB:
        reason = (
            f"output limit: {written / _MIB:.1f} MiB written, the limit is {limits.output_mib} MiB"
        )
        return Outcome("stopped", code_, reason, seconds)
    if removed:
        reason = f"not a plain file in the output, removed: {', '.join(removed)}"
        return Outcome("failed", code_, reason, seconds)
    if code_ == 0:
        return Outcome("finished", 0, "", seconds)
    if _MEMORY.search(tail):
        reason = f"memory limit: the job could not allocate within {limits.memory_mib} MiB"
        return Outcome("stopped", code_, reason, seconds)
    if _PROCESSES.search(tail):
        reason = f"process limit: the job tried to run more than {limits.processes} processes"
        return Outcome("stopped", code_, reason, seconds)
    return Outcome("failed", code_, f"exit code {code_}{_error_type(logs / 'stderr.txt')}", seconds)
