"""The handwritten signature kept with a decided task (``Task.signature``, a PNG), for the
timeline and the printout: ``workflow:task-signature``. Whoever may not see the task, or a
task without a signature, gets 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.http import require_GET

from portal.http import signed_in
from workflow.selectors import visibility


@login_required
@require_GET
def task_signature(request: HttpRequest, task_id: int) -> FileResponse:
    """The signature image of a task the person may see (404 otherwise, or without one)."""
    task = visibility.task_for(signed_in(request), task_id)
    if task is None or not task.signature:
        raise Http404
    try:
        handle = task.signature.open("rb")
    except (OSError, ValueError) as error:
        raise Http404 from error
    response = FileResponse(handle, content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


urlpatterns: list[URLPattern | URLResolver] = [
    # not under tasks/<id>/<action>/ (the actions' POST address): a file name, no slash
    path("tasks/<int:task_id>/signature.png", task_signature, name="task-signature"),
]
