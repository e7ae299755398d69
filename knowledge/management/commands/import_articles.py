"""``manage.py import_articles PATH [--space KEY] [--publish] [--dry-run] [--owner USERNAME]``:
import articles from a folder of Markdown files with YAML front matter, one Markdown file, or a
JSON Lines file (``knowledge/importing.py`` says what each may hold).

Every bad entry is printed to stderr as ``<file or line N>: <what is wrong>`` and is never
imported; the good ones are imported in one transaction (all of them or, if the database
refuses one, none), as drafts of the owner. ``--publish`` publishes them directly: an
administrator's import, which skips the editor's "write a draft, then publish" step. It does
**not** skip a review: in a space that reviews its articles before publishing
(``requires_review``) the services publish only through the review, so ``--publish`` reports
those entries as bad; import them as drafts and submit them. ``--dry-run`` reads and checks
everything, prints what would be imported and which spaces would be created, and writes
nothing. A space named by a title that does not exist is created (the owner needs
``knowledge.add_space``), readable by its members only (the owner is its admin): give it
its readers in the admin afterwards. The exit status is 1 when any entry was bad.

Messages are in the owner's language (their profile's), else the portal's default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from knowledge.importing import ImportReport, import_entries, read_entries
from portal.errors import PortalError
from portal.models import User


def _owner(username: str | None) -> User:
    """The user the articles belong to: ``--owner``, else the first active superuser."""
    if username:
        found = User.objects.filter(username=username, is_active=True).first()
        if found is None:
            raise CommandError(_("There is no active user “%(name)s”.") % {"name": username})
        return found
    first = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if first is None:
        raise CommandError(_("There is no administrator to own the articles: give --owner."))
    return first


class Command(BaseCommand):
    help = (
        "Import articles from a folder of Markdown files (YAML front matter: title, space, "
        "tags, summary, lang) or a JSON Lines file (space, title, body, tags, lang, summary)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="a folder, a .md file or a .jsonl file")
        parser.add_argument("--space", default="", help="import every entry into this space (key)")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="publish directly (spaces without review only)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report only; import nothing"
        )
        parser.add_argument("--owner", default=None, help="user name (default: an administrator)")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = _owner(options["owner"])
        with translation.override(owner.preferred_language or translation.get_language()):
            self._import(owner, options)

    def _import(self, owner: User, options: dict[str, Any]) -> None:
        entries, problems = read_entries(options["path"])
        try:
            report = import_entries(
                entries,
                owner=owner,
                problems=problems,
                space_key=options["space"],
                publish=options["publish"],
                dry_run=options["dry_run"],
            )
        except (PortalError, ValidationError, PermissionDenied) as error:
            message = "; ".join(error.messages) if isinstance(error, ValidationError) else error
            raise CommandError(
                _("Nothing was imported: %(error)s") % {"error": message}, returncode=2
            ) from error
        self._print(report)
        if not report.ok:
            raise CommandError(
                _("Bad entries, not imported: %(count)d.") % {"count": len(report.problems)},
                returncode=1,
            )

    def _print(self, report: ImportReport) -> None:
        for problem in report.problems:
            self.stderr.write(f"{problem.where}: {problem.message}")
        for key, name in report.created_spaces:
            line = (
                _("Would create the space %(key)s (%(name)s).")
                if report.dry_run
                else _("Created the space %(key)s (%(name)s), readable by its members only.")
            )
            self.stdout.write(line % {"key": key, "name": name})
        for entry, why in report.skipped:
            self.stdout.write(
                _("%(source)s: skipped: %(why)s") % {"source": entry.source, "why": why}
            )
        for entry, key, _article_id in report.imported:
            self.stdout.write(
                _("%(source)s: “%(title)s” → %(space)s")
                % {"source": entry.source, "title": entry.title, "space": key}
            )
        count = len(report.imported)
        if report.dry_run:
            summary = _("Dry run: articles that would be imported: %(count)d; nothing was changed.")
        elif report.published:
            summary = _("Articles imported and published: %(count)d.")
        else:
            summary = _("Articles imported as drafts: %(count)d.")
        self.stdout.write(summary % {"count": count})
