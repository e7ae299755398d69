"""What every CRM page module shares: :func:`found` (what the person may not see answers 404),
:func:`add_errors` (a service's field errors onto the form) and :func:`url_around_id` (the
rows' links without a ``reverse`` per row)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from portal.errors import NotFound

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def found(view: View) -> View:
    """What the person may not see (``NotFound`` from a selector or service) answers 404."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(str(error)) from error

    return cast(View, wrapped)


def add_errors(form: Any, error: ValidationError) -> None:
    """A service's field errors on the form's fields of the same name; the others (and an
    error without fields) above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


def url_around_id(name: str) -> tuple[str, str]:
    """The URL ``name`` of one object as the text before and after its id: a page of rows
    (a list, the kanban's cards) writes each row's id in between instead of reversing the
    URL once per row."""
    marker = str(2_147_483_647)
    before, _marker, after = reverse(name, args=[marker]).partition(marker)
    return before, after
