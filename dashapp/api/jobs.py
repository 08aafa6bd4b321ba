"""History jobs: `/admin/jobs` (list, start) and `/admin/jobs/<job_id>`.

The jobs themselves run in `dashapp.ops.jobs`; these views only start and read them.
"""

from __future__ import annotations

from flask import current_app

from dashapp.api.blueprint import current_actor, endpoint
from dashapp.api.params import NUM, STR
from dashapp.api.responses import json_response
from dashapp.api.spec import ApiError, Param
from dashapp.market.context import current_store

JOB = {
    "type": "object",
    "required": ["id", "kind", "status"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string"},
        "status": {"type": "string"},
        "progress": NUM,
        "message": STR,
        "result": {},
        "error": STR,
    },
}


@endpoint(
    "/admin/jobs",
    "History jobs (backfill, file import) and their progress.",
    admin=True,
    tag="admin",
    response={
        "type": "object",
        "properties": {"jobs": {"type": "array", "items": JOB}},
    },
)
def admin_jobs():
    """Return recent jobs, newest first."""
    from dashapp.ops.jobs import list_jobs

    return {"jobs": list_jobs(current_store())}


@endpoint(
    "/admin/jobs",
    "Start a history job.",
    methods=("POST",),
    admin=True,
    tag="admin",
    body=(
        Param(
            "kind", "enum", "Job kind.", required=True, choices=("backfill", "import")
        ),
        Param("days", "integer", "Backfill: sessions back.", minimum=1, maximum=5_000),
        Param("universe", "universe", "Backfill: universe."),
        Param("minute", "boolean", "Backfill minute bars instead of daily."),
        Param(
            "path",
            "string",
            "Import: file path on the server.",
            max_length=1024,
            pattern=r"^[^\x00]+$",
        ),
        Param(
            "timeframe",
            "enum",
            "Import: file holds daily or minute bars.",
            choices=("daily", "minute"),
        ),
    ),
    response=JOB,
    statuses=(202, 415, 422),
)
def admin_start_job(kind, days, universe, minute, path, timeframe):
    """Queue a backfill or import job in a background thread."""
    from dashapp.ops.jobs import JobError, start_job

    params = {
        "days": days,
        "universe": universe,
        "minute": minute,
        "path": path,
        "timeframe": timeframe,
    }
    try:
        job = start_job(
            current_app,
            kind,
            {k: v for k, v in params.items() if v is not None},
            user=current_actor(),
        )
    except JobError as exc:
        raise ApiError(422, "invalid_job", str(exc)) from None
    return json_response(job, status=202)


@endpoint(
    "/admin/jobs/<job_id>",
    "One job's status.",
    admin=True,
    tag="admin",
    params=(
        Param(
            "job_id",
            "string",
            "Job id.",
            required=True,
            max_length=32,
            pattern=r"^[a-f0-9]{1,32}$",
            location="path",
        ),
    ),
    response=JOB,
    statuses=(404,),
)
def admin_job(job_id: str):
    """Return one job."""
    from dashapp.ops.jobs import get_job

    job = get_job(current_store(), job_id)
    if job is None:
        raise ApiError(404, "unknown_job", f"no job {job_id}")
    return job
