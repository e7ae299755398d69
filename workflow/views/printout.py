"""打印: a request as a clean A4 page (``/workflow/instances/<id>/print/``) or as a PDF
(``?format=pdf``, WeasyPrint with the system's CJK fonts), for whoever may see it; anyone
else gets a 404.

The PDF is made without fetching anything: every image of the page (the handwritten
signatures) is a ``data:`` URI, the styles are in the page, the fonts come from the system
(fontconfig), and the URL fetcher refuses every other URL, so a value someone typed cannot
make the server request an address.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET
from weasyprint import HTML, default_url_fetcher
from weasyprint.urls import URLFetchingError

from portal.http import signed_in
from workflow.selectors import exports
from workflow.services import approvals


def data_only_fetcher(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """WeasyPrint's fetcher for ``data:`` URIs only; any other URL (http, file, ftp) is
    refused, and WeasyPrint leaves that image or style out."""
    if not url.startswith("data:"):
        raise URLFetchingError(f"not fetched while printing: {url[:80]}")
    found: dict[str, Any] = default_url_fetcher(url, *args, **kwargs)
    return found


def pdf_bytes(html: str) -> bytes:
    """The PDF of a printout's HTML (A4, as its ``@page`` rule says)."""
    document = HTML(string=html, url_fetcher=data_only_fetcher)
    return bytes(document.write_pdf())


def pdf_filename(printout: exports.Printout) -> str:
    """``费用报销_2026-0042.pdf``: the process and the request's number, nothing a file
    system refuses."""
    name = f"{printout.process}_{printout.number}"
    cleaned = "".join("_" if c in '\\/:*?"<>|\r\n\t' else c for c in name).strip(" ._")
    return f"{cleaned[:120] or 'request'}.pdf"


@login_required
@require_GET
def instance_print(request: HttpRequest, instance_id: int) -> HttpResponse:
    """The printout of a request the person may see (404 otherwise); ``?format=pdf`` as a
    PDF download. A person copied on it has read it now."""
    user = signed_in(request)
    printout = exports.printout(user, instance_id)
    if printout is None:
        raise Http404
    approvals.copy_mark_read(instance_id, user=user)
    as_pdf = request.GET.get("format") == "pdf"
    printout.printed_at = timezone.now()
    html = render_to_string("workflow/print.html", {"p": printout, "pdf": as_pdf}, request=request)
    if not as_pdf:
        return HttpResponse(html)
    response = HttpResponse(pdf_bytes(html), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=pdf_filename(printout)
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns: list[URLPattern | URLResolver] = [
    path("instances/<int:instance_id>/print/", instance_print, name="instance_print"),
]
