"""The addresses of a task's and an instance's pages, for notifications, redirects and the
API.
"""

from __future__ import annotations


def task_url(task_id: int) -> str:
    return f"/workflow/tasks/{task_id}/"


def instance_url(instance_id: int) -> str:
    return f"/workflow/instances/{instance_id}/"
