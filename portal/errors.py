"""The errors every app raises for what a caller asked that cannot be done, and that the API
(``portal.api.exception_handler``) answers with one body: apps subclass these and set their
own ``code``; portal never needs to know an app's classes.

=================  ======  ==========================================================
class              status  meaning
=================  ======  ==========================================================
:class:`Invalid`   400     the input is wrong (``problems``: each with where and what)
:class:`NotFound`  404     not there, or not visible to the caller
:class:`Refused`   409     the object's state (or the caller's part in it) refuses it
:class:`Conflict`  409     someone else acted first (``already_handled``)
:class:`Unprocessable`  422  understood, but the data make it fail; nothing changed
=================  ======  ==========================================================

Field errors stay Django's ``ValidationError`` (a form's, a service's); these are for the
rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Conflict", "Invalid", "NotFound", "PortalError", "Problem", "Refused", "Unprocessable"]


@dataclass(frozen=True)
class Problem:
    """One problem of an input that has many parts (a BPMN file: an element and what is
    wrong with it; an import file: a line)."""

    where: str
    message: str


class PortalError(Exception):
    """The base: an HTTP status, a stable ``code`` for programs, the message for people (in
    the caller's language, as the raiser translated it)."""

    status = 400
    code = "error"

    def body(self) -> dict[str, object]:
        """The API's ``error`` object for this error."""
        return {"code": self.code, "message": str(self)}


class Invalid(PortalError):
    """400: the input cannot be used; ``problems`` lists each part that is wrong."""

    status = 400
    code = "invalid"

    def __init__(self, message: str = "", problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: Sequence[Problem] = tuple(problems)

    def body(self) -> dict[str, object]:
        found = [{"where": p.where, "message": p.message} for p in self.problems]
        return {**super().body(), **({"problems": found} if found else {})}


class NotFound(PortalError):
    status = 404
    code = "not_found"


class Refused(PortalError):
    status = 409
    code = "refused"


class Conflict(PortalError):
    status = 409
    code = "conflict"


class Unprocessable(PortalError):
    status = 422
    code = "unprocessable"
