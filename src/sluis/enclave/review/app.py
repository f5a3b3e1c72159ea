"""The review page's routes (A5): log in, the jobs, one job, one output, approve or reject,
release.

Security for a page that shows unreleased results on a shared enclave computer: it listens
on 127.0.0.1 only and answers only requests addressed to ``127.0.0.1`` or ``localhost``
(a web page elsewhere cannot reach it by DNS rebinding); reviewers log in with their
password (:mod:`sluis.enclave.reviewers`); the session cookie is signed with a key made at
start (a restart logs everyone out), HttpOnly and SameSite=Strict; every form carries a
CSRF token bound to the session; pages forbid framing, scripts and any outside resource
(Content-Security-Policy) and are not cached. The rules themselves live in
:mod:`sluis.enclave.reviews`, the same the command line uses.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from sluis.enclave import reviewers
from sluis.enclave.release import build_release, job_status, load_release, release_ids
from sluis.enclave.review.tables import marks, show
from sluis.enclave.reviews import Job, Status, decide, job_ids, refusal
from sluis.errors import SluisError

#: hosts the page answers to (not a name an outside page could point at 127.0.0.1)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
#: response headers of every page
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(enclave: Path, *, secret: bytes | None = None) -> Flask:
    """The review page of the enclave at ``enclave`` (``W/ksz/enclave``)."""
    app = Flask(__name__, template_folder="templates")
    app.config.update(
        SECRET_KEY=secret or secrets.token_bytes(32),
        SESSION_COOKIE_NAME="sluis_review",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.jinja_env.autoescape = True
    app.jinja_env.filters["sentence"] = lambda text: text[:1].upper() + text[1:]
    app.jinja_env.filters["when"] = lambda stamp: stamp[:16].replace("T", " ") + " UTC"

    def reviewer() -> str | None:
        name = session.get("reviewer")
        return name if name and reviewers.exists(enclave, name) else None

    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return session["csrf"]

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"me": reviewer(), "csrf_token": csrf_token, "enclave": enclave, "label": label}

    @app.before_request
    def _guard() -> Response | None:
        if (request.host.rsplit(":", 1)[0] if request.host else "") not in LOCAL_HOSTS:
            abort(403)
        if request.method == "POST":
            sent = request.form.get("csrf", "")
            if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
                abort(400, "the form is out of date: reload the page and try again")
        if request.endpoint not in ("login", "static") and reviewer() is None:
            return redirect(url_for("login"))
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.update(HEADERS)
        return response

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "POST":
            name = request.form.get("name", "").strip()
            password = request.form.get("password", "")
            if reviewers.NAME.fullmatch(name) and reviewers.authenticate(enclave, name, password):
                session.clear()
                session["reviewer"] = name
                csrf_token()
                return redirect(url_for("jobs"))
            flash("Unknown reviewer or wrong password.", "error")
        return render_template("login.html")

    @app.post("/logout")
    def logout() -> Any:
        session.clear()
        return redirect(url_for("login"))

    @app.get("/")
    def jobs() -> Any:
        rows = []
        for job_id in job_ids(enclave):
            try:
                job, statuses = job_status(enclave, job_id)
            except SluisError as err:
                rows.append({"id": job_id, "error": str(err)})
                continue
            rows.append({"id": job_id, "job": job, "statuses": statuses, **_counts(statuses)})
        return render_template("jobs.html", rows=rows, releases=len(release_ids(enclave)))

    @app.get("/jobs/<job_id>")
    def job(job_id: str) -> Any:
        found, statuses = job_status(enclave, job_id)
        releases = [load_release(enclave, r) for r in release_ids(enclave)]
        mine = [r for r in releases if r.get("job") == job_id]
        return render_template(
            "job.html",
            job=found,
            statuses=statuses,
            releases=mine,
            releasable=sum(s.approved and not s.released for s in statuses),
            **_counts(statuses),
        )

    @app.get("/jobs/<job_id>/files/<path:file>")
    def output(job_id: str, file: str) -> Any:
        found, statuses = job_status(enclave, job_id)
        item = _status(found, statuses, file)
        me = reviewer() or ""
        shown = show(found.folder / file)
        return render_template(
            "output.html",
            job=found,
            item=item,
            shown=shown,
            marks=marks(item.output.findings, shown.header),
            cannot_approve=refusal(
                reviewer=me,
                author=found.author,
                state=found.state,
                verdict=item.output.verdict,
                decision="approve",
            ),
            cannot_reject=refusal(
                reviewer=me,
                author=found.author,
                state=found.state,
                verdict=item.output.verdict,
                decision="reject",
            ),
            mine=next((r for r in reversed(item.current) if r.reviewer == me), None),
        )

    @app.post("/jobs/<job_id>/files/<path:file>/review")
    def review(job_id: str, file: str) -> Any:
        decision = request.form.get("decision")
        if decision not in ("approve", "reject"):
            abort(400, "the decision is approve or reject")
        try:
            decide(
                enclave,
                job_id,
                file,
                reviewer=reviewer() or "",
                decision=decision,
                comment=request.form.get("comment", ""),
                via="web",
            )
            word = "Approved" if decision == "approve" else "Rejected"
            flash(f"{word} {file}.", "ok")
        except SluisError as err:
            flash(err.message, "error")
        return redirect(url_for("output", job_id=job_id, file=file))

    @app.post("/jobs/<job_id>/release")
    def release(job_id: str) -> Any:
        try:
            info = build_release(enclave, job_id)
            flash(f"Released {len(info.files) - 1} file(s) as {info.id}: {info.path}", "ok")
        except SluisError as err:
            flash(err.message, "error")
        return redirect(url_for("job", job_id=job_id))

    @app.errorhandler(SluisError)
    def _user_error(err: SluisError) -> Any:
        return render_template("error.html", message=err.message), 404

    return app


def label(item: Status) -> tuple[str, str]:
    """The badge of an output's review status: (style, words)."""
    if item.released:
        return "released", f"released in {', '.join(item.released)}"
    if item.approved:
        return "approved", "approved"
    if item.rejecters:
        return "rejected", "rejected"
    if item.output.verdict == "fail":
        return "fail", "fails its checks"
    if item.output.verdict == "stale":
        return "stale", "changed since its checks"
    return "pending", f"{len(item.approvers)} of 2 approvals"


def _status(job: Job, statuses: list[Status], file: str) -> Status:
    job.output(file)  # a ReviewError naming the outputs when there is no such file
    return next(s for s in statuses if s.output.file == file)


def _counts(statuses: list[Status]) -> dict[str, int]:
    return {
        "n_outputs": len(statuses),
        "n_approved": sum(s.approved for s in statuses),
        "n_released": sum(bool(s.released) for s in statuses),
        "n_fail": sum(s.output.verdict == "fail" for s in statuses),
        "n_rejected": sum(bool(s.rejecters) for s in statuses),
    }
