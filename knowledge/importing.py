"""Importing articles from files: a folder of Markdown files with YAML front matter, or a JSON
Lines file (``python manage.py import_articles``; the help centre's seeder reuses the parsing).

Two steps, so that nothing half-done is ever left behind:

1. **Reading** (:func:`read_entries`, :func:`parse_markdown_file`, :func:`parse_json_line`)
   turns each file or line into an :class:`Entry` or a :class:`~portal.errors.Problem` that
   says where (the file, or ``line 12``) and everything that is wrong with it. Reading never
   touches the database and never stops at the first bad entry: the report lists them all.
2. **Importing** (:func:`import_entries`) finds each entry's space (a key, or a title: a
   space named by a title that does not exist is created), then writes the good entries
   through ``knowledge.services`` in one transaction (each article gets its version 1, its
   audit event and, when published, its search index entry, as if typed in the editor). A
   bad entry is never imported; with ``dry_run`` nothing is, and the report says what would
   have been. ``publish`` publishes the imported articles at once (an administrator's import
   of documents already approved elsewhere: it skips the draft stage, and in a space that
   reviews its articles it skips the review, which only a space admin may do —
   ``services.article_publish(skip_review=True)``, recorded in the audit trail); for anyone
   else those entries are reported as bad.

Markdown front matter (between ``---`` lines at the top)::

    ---
    title: 差旅报销标准      # else the first "# heading", else the file's name
    space: 财务              # a space's key or title (``--space`` overrides it)
    tags: [报销, 差旅]       # a list, or "a, b"
    summary: 出差的住宿和交通标准
    lang: zh-hans            # zh-hans or en; else guessed from the text
    ---

A JSON line is an object with ``space``, ``title``, ``body`` and optional ``tags`` (a list of
strings), ``lang`` and ``summary``; other keys are ignored.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from knowledge import selectors, services
from knowledge.models import Article, Language, Space, Visibility
from portal.errors import Problem
from portal.models import User

__all__ = [
    "Entry",
    "ImportReport",
    "Problem",
    "import_entries",
    "parse_json_line",
    "parse_markdown_file",
    "parse_markdown_text",
    "read_entries",
]

TITLE_MAX = services.MAX_TITLE
SUMMARY_MAX = services.MAX_SUMMARY
TAG_MAX = services.MAX_TAG
TAGS_MAX = services.MAX_TAGS
SPACE_NAME_MAX = Space._meta.get_field("name").max_length or 100
SPACE_KEY_MAX = Space._meta.get_field("key").max_length or 40
# An article's text: a whole handbook fits; a line or file beyond it is an export gone wrong
# (or an attack), refused without being parsed.
MAX_ENTRY_BYTES = 2 * 1024 * 1024
MARKDOWN_SUFFIXES = (".md", ".markdown")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
# lang as people write it -> the model's value
LANGUAGES = {
    "zh-hans": Language.CHINESE,
    "zh_hans": Language.CHINESE,
    "zh": Language.CHINESE,
    "zh-cn": Language.CHINESE,
    "zh_cn": Language.CHINESE,
    "en": Language.ENGLISH,
    "en-us": Language.ENGLISH,
    "en_us": Language.ENGLISH,
    "en-gb": Language.ENGLISH,
    "en_gb": Language.ENGLISH,
}
_CHINESE = re.compile(r"[\u3400-\u9fff]")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Entry:
    """One article to import, as read: ``source`` says where it came from (a file's path, or
    ``line 7``); ``space`` is a key or a title as written ("" when none was given)."""

    source: str
    title: str
    body: str
    space: str = ""
    tags: tuple[str, ...] = ()
    summary: str = ""
    lang: str = Language.CHINESE


# --- reading ----------------------------------------------------------------------------------


def _size(count: int) -> str:
    return f"{count / 1_048_576:.1f} MB"


def _too_large(count: int) -> str:
    return _("too large (%(size)s; at most %(limit)s)") % {
        "size": _size(count),
        "limit": _size(MAX_ENTRY_BYTES),
    }


def _text_value(value: Any, name: str, problems: list[str], *, scalars: bool) -> str:
    """A text field: a string (in front matter also a number or a date, as YAML reads
    them), or none."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if scalars and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    problems.append(_("%(field)s is not text") % {"field": name})
    return ""


def _tags(value: Any, problems: list[str], *, lenient: bool) -> tuple[str, ...]:
    """A list of strings; in front matter also one string of comma-separated tags."""
    if value is None:
        return ()
    if lenient and isinstance(value, str):
        value = [part for part in re.split(r"[,，、;；]", value) if part.strip()]
    if not isinstance(value, list) or not all(
        isinstance(tag, str)
        or (lenient and isinstance(tag, int | float) and not isinstance(tag, bool))
        for tag in value
    ):
        problems.append(_("tags is not a list of strings"))
        return ()
    tags = tuple(dict.fromkeys(str(tag).strip() for tag in value if str(tag).strip()))
    if len(tags) > TAGS_MAX:
        problems.append(_("more than %(count)d tags") % {"count": TAGS_MAX})
    for tag in tags:
        if len(tag) > TAG_MAX:
            problems.append(
                _("the tag “%(tag)s…” is longer than %(count)d characters")
                % {"tag": tag[:20], "count": TAG_MAX}
            )
    return tags


def _lang(value: Any, text: str, problems: list[str]) -> str:
    """The article's language: as given, else Chinese when the text has Chinese characters."""
    if value is None or value == "":
        return Language.CHINESE if _CHINESE.search(text) else Language.ENGLISH
    if isinstance(value, str) and value.strip().lower() in LANGUAGES:
        return LANGUAGES[value.strip().lower()]
    problems.append(_("unknown lang “%(lang)s” (use zh-hans or en)") % {"lang": str(value)[:20]})
    return Language.CHINESE


def _entry(
    source: str, values: Mapping[str, Any], *, body: str, title: str, lenient: bool
) -> Entry | Problem:
    """The entry of ``values`` (front matter or a JSON object), or the problem listing
    everything wrong with it."""
    problems: list[str] = []
    title = title.strip()
    space = _text_value(values.get("space"), "space", problems, scalars=lenient)
    summary = _text_value(values.get("summary"), "summary", problems, scalars=lenient)
    tags = _tags(values.get("tags"), problems, lenient=lenient)
    lang = _lang(values.get("lang"), f"{title}\n{body}", problems)
    if not title:
        problems.append(_("no title"))
    elif len(title) > TITLE_MAX:
        problems.append(
            _("the title has %(length)d characters (at most %(count)d)")
            % {"length": len(title), "count": TITLE_MAX}
        )
    if not body.strip():
        problems.append(_("no body"))
    if len(summary) > SUMMARY_MAX:
        problems.append(
            _("the summary has %(length)d characters (at most %(count)d)")
            % {"length": len(summary), "count": SUMMARY_MAX}
        )
    if len(space) > SPACE_NAME_MAX:
        problems.append(
            _("the space “%(space)s…” is neither a space's key nor a title (too long)")
            % {"space": space[:20]}
        )
    if "\x00" in title + body + summary + space + "".join(tags):
        problems.append(_("the text holds a NUL character"))
    if not problems:
        # the services' own check, so that an entry read as good is never refused mid-import
        try:
            services.clean_content(title=title, body=body, summary=summary, tags=tags, lang=lang)
        except ValidationError as error:
            problems += [f"{name}: {' '.join(m)}" for name, m in error.message_dict.items()]
    if problems:
        return Problem(source, "; ".join(problems))
    return Entry(source, title, body, space, tags, summary, lang)


def _split_front_matter(text: str) -> tuple[str | None, str]:
    """(the front matter's YAML, or None when there is none; the body)."""
    if not text.startswith("---"):
        return None, text
    first_line, _newline, rest = text.partition("\n")
    if first_line.rstrip() != "---":
        return None, text
    end = _FRONT_MATTER_END.search(rest)
    if end is None:
        raise ValueError(_("the front matter has no closing “---” line"))
    return rest[: end.start()], rest[end.end() :].lstrip("\n")


def _heading_title(body: str) -> tuple[str, str]:
    """The first level-1 heading outside code blocks and the body without it ("" and the
    body unchanged when there is none)."""
    lines = body.split("\n")
    fenced = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        found = None if fenced else _HEADING.match(line)
        if found:
            rest = "\n".join(lines[:index] + lines[index + 1 :]).strip("\n")
            return found.group(1).strip(), rest
    return "", body


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip()


def parse_markdown_text(text: str, *, source: str, name: Path | None = None) -> Entry | Problem:
    """A Markdown document with optional front matter as an entry; ``name`` (a file's path)
    gives the last fallback title."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        front, body = _split_front_matter(text)
    except ValueError as error:
        return Problem(source, str(error))
    values: Any = {}
    if front is not None:
        try:
            values = yaml.safe_load(front) if front.strip() else {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = _(" (front matter line %(line)d)") % {"line": mark.line + 1} if mark else ""
            return Problem(source, _("bad front matter YAML%(where)s") % {"where": where})
        except RecursionError:
            return Problem(source, _("bad front matter YAML (nested too deeply)"))
        if values is None:
            values = {}
        if not isinstance(values, dict):
            return Problem(source, _("the front matter is not a mapping of names to values"))
    problems: list[str] = []
    title = _text_value(values.get("title"), "title", problems, scalars=True)
    if problems:
        return Problem(source, "; ".join(problems))
    if not title:
        title, body = _heading_title(body)
    if not title and name is not None:
        title = _title_from_name(name)
    return _entry(source, values, body=body.strip("\n"), title=title, lenient=True)


def parse_markdown_file(path: Path | str) -> Entry | Problem:
    """One Markdown file as an entry, or the problem with it (not UTF-8, too large, bad
    front matter, no title or body ...)."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_ENTRY_BYTES:
            return Problem(source, _too_large(size))
        raw = path.read_bytes()
    except OSError as error:
        return Problem(source, _("cannot be read: %(error)s") % {"error": error.strerror or error})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return Problem(source, _("not UTF-8 text (byte %(offset)d)") % {"offset": error.start + 1})
    return parse_markdown_text(text, source=source, name=path)


def parse_json_line(raw: bytes | str, *, number: int) -> Entry | Problem | None:
    """Line ``number`` of a JSON Lines file as an entry, the problem with it, or None for a
    blank line."""
    source = _("line %(number)d") % {"number": number}
    if len(raw) > MAX_ENTRY_BYTES:
        return Problem(source, _too_large(len(raw)))
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            return Problem(
                source, _("not UTF-8 text (byte %(offset)d)") % {"offset": error.start + 1}
            )
    else:
        text = raw
    text = text.removeprefix("\ufeff").strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return Problem(
            source,
            _("bad JSON: %(reason)s (column %(column)d)")
            % {"reason": error.msg, "column": error.colno},
        )
    except RecursionError:
        return Problem(source, _("bad JSON: nested too deeply"))
    if not isinstance(value, dict):
        return Problem(source, _("not a JSON object"))
    problems: list[str] = []
    title = _text_value(value.get("title"), "title", problems, scalars=False)
    body = value.get("body")
    if body is not None and not isinstance(body, str):
        problems.append(_("body is not text"))
        body = ""
    if problems:
        return Problem(source, "; ".join(problems))
    return _entry(source, value, body=(body or "").strip("\n"), title=title, lenient=False)


def _lines(path: Path) -> Iterator[tuple[int, bytes | int]]:
    """The lines of a file with their numbers: each as bytes, or, for a line longer than
    :data:`MAX_ENTRY_BYTES`, its length only (read in pieces, never held whole)."""
    with path.open("rb") as stream:
        number = 0
        while line := stream.readline(MAX_ENTRY_BYTES + 1):
            number += 1
            if len(line) > MAX_ENTRY_BYTES:
                length = len(line)
                while not line.endswith(b"\n") and (line := stream.readline(MAX_ENTRY_BYTES)):
                    length += len(line)
                yield number, length
            else:
                yield number, line.rstrip(b"\r\n")


def _markdown_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in MARKDOWN_SUFFIXES and not p.name.startswith(".")
    )


def read_entries(path: Path | str) -> tuple[list[Entry], list[Problem]]:
    """Every entry of ``path`` (a folder of Markdown files, one Markdown file, or a JSON
    Lines file) and every problem, in the order of the files or lines."""
    path = Path(path)
    entries: list[Entry] = []
    problems: list[Problem] = []

    def keep(found: Entry | Problem | None) -> None:
        if isinstance(found, Entry):
            entries.append(found)
        elif isinstance(found, Problem):
            problems.append(found)

    if path.is_dir():
        files = _markdown_files(path)
        if not files:
            problems.append(Problem(str(path), _("no Markdown (.md) files in this folder")))
        for file in files:
            keep(parse_markdown_file(file))
    elif path.is_file() and path.suffix.lower() in MARKDOWN_SUFFIXES:
        keep(parse_markdown_file(path))
    elif path.is_file():
        try:
            for number, line in _lines(path):
                if isinstance(line, int):
                    where = _("line %(number)d") % {"number": number}
                    problems.append(Problem(where, _too_large(line)))
                else:
                    keep(parse_json_line(line, number=number))
        except OSError as error:
            problems.append(Problem(str(path), _("cannot be read: %(error)s") % {"error": error}))
    else:
        problems.append(Problem(str(path), _("no such file or folder")))
    return entries, problems


# --- importing ----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool
    problems: list[Problem] = field(default_factory=list)
    # (entry, the space's key, the new article's id: None in a dry run)
    imported: list[tuple[Entry, str, int | None]] = field(default_factory=list)
    skipped: list[tuple[Entry, str]] = field(default_factory=list)  # (entry, why)
    created_spaces: list[tuple[str, str]] = field(default_factory=list)  # (key, name)
    published: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


@dataclass
class _Spaces:
    """The spaces an import writes to: the existing ones by key and by name (either
    language, folded), and the ones it will create."""

    by_key: dict[str, Space]
    by_name: dict[str, Space]
    planned: dict[str, tuple[str, str]] = field(default_factory=dict)  # folded title -> (key, name)

    @classmethod
    def load(cls) -> _Spaces:
        spaces = list(Space.objects.all())
        by_name: dict[str, Space] = {}
        for space in spaces:
            for name in (space.name, space.name_en):
                if name:
                    by_name.setdefault(_fold(name), space)
        return cls({s.key: s for s in spaces}, by_name)

    def key_for(self, value: str) -> str:
        """The key of the space ``value`` names (a key or a title), planning a new space
        for a title that names none."""
        if value in self.by_key:
            return value
        folded = _fold(value)
        if folded in self.by_name:
            return self.by_name[folded].key
        if folded not in self.planned:
            self.planned[folded] = (self._new_key(value), value)
        return self.planned[folded][0]

    def _new_key(self, title: str) -> str:
        """A key from the title (``slugify``); for a title with no Latin letters (Chinese),
        ``space-<n>``, the first number free."""
        taken = set(self.by_key) | {key for key, _name in self.planned.values()}
        base = slugify(title)[:SPACE_KEY_MAX].strip("-")
        if base and base not in taken:
            return base
        stem = (base or "space")[: SPACE_KEY_MAX - 6]
        number = 1
        while f"{stem}-{number}" in taken:
            number += 1
        return f"{stem}-{number}"


def _check_duplicates(
    entries: Iterable[tuple[Entry, str]], problems: list[Problem]
) -> list[tuple[Entry, str]]:
    """The same title twice for one space in one import: both are refused (which one is
    meant cannot be told)."""
    seen: dict[tuple[str, str], Entry] = {}
    doubled: set[tuple[str, str]] = set()
    listed = list(entries)
    for entry, key in listed:
        mark = (key, _fold(entry.title))
        if mark in seen:
            doubled.add(mark)
        seen.setdefault(mark, entry)
    kept = []
    for entry, key in listed:
        mark = (key, _fold(entry.title))
        if mark in doubled:
            first = seen[mark]
            message = _("the title “%(title)s” appears more than once for this space")
            if first is not entry:
                message += " " + _("(first: %(source)s)") % {"source": first.source}
            problems.append(Problem(entry.source, message % {"title": entry.title[:60]}))
        else:
            kept.append((entry, key))
    return kept


def _may_write(owner: User, space: Space | None, *, publish: bool) -> str:
    """Why ``owner`` may not import into ``space`` (None: a space the import creates), or ""."""
    if space is None:
        if owner.is_superuser or owner.has_perm("knowledge.add_space"):
            return ""
        return _("%(user)s may not create spaces") % {"user": owner.username}
    if "edit_space" not in selectors.space_permissions(owner, space):
        return _("%(user)s may not write in the space “%(space)s”") % {
            "user": owner.username,
            "space": space.key,
        }
    if (
        publish
        and space.requires_review
        and "admin_space" not in selectors.space_permissions(owner, space)
    ):
        return _(
            "the space “%(space)s” reviews its articles before publishing: import them "
            "without --publish, then submit them for review"
        ) % {"space": space.key}
    return ""


def _plan(
    entries: list[Entry], problems: list[Problem], *, owner: User, space_key: str, publish: bool
) -> tuple[_Spaces, list[tuple[Entry, str]]]:
    """Each good entry with its space's key; entries without a space, or with a space the
    owner may not write in, become problems."""
    spaces = _Spaces.load()
    placed: list[tuple[Entry, str]] = []
    for entry in entries:
        if space_key:
            placed.append((entry, space_key))
        elif not entry.space:
            problems.append(Problem(entry.source, _("no space (give one, or use --space)")))
        else:
            placed.append((entry, spaces.key_for(entry.space)))
    allowed: list[tuple[Entry, str]] = []
    for entry, key in _check_duplicates(placed, problems):
        refusal = _may_write(owner, spaces.by_key.get(key), publish=publish)
        if refusal:
            problems.append(Problem(entry.source, refusal))
        else:
            allowed.append((entry, key))
    return spaces, allowed


def import_entries(
    entries: list[Entry],
    *,
    owner: User,
    problems: Iterable[Problem] = (),
    space_key: str = "",
    publish: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import the good ``entries`` as ``owner``'s articles in one transaction: drafts, or
    published directly with ``publish`` (spaces without review only). ``problems`` are
    those of the reading, reported with the rest.
    An article already in its space under the same title is skipped, so that running an
    import again adds nothing twice. ``space_key`` (an existing space) overrides each
    entry's space. With ``dry_run`` nothing is written."""
    report = ImportReport(dry_run=dry_run, problems=list(problems), published=publish)
    if space_key and not Space.objects.filter(key=space_key).exists():
        report.problems.append(
            Problem("--space", _("there is no space “%(key)s”") % {"key": space_key})
        )
        return report
    spaces, allowed = _plan(
        entries, report.problems, owner=owner, space_key=space_key, publish=publish
    )
    existing = {
        (key, _fold(title))
        for key, title in Article.objects.filter(
            space__key__in={key for _entry, key in allowed}, deleted_at__isnull=True
        ).values_list("space__key", "title")
    }
    to_write = []
    for entry, key in allowed:
        if (key, _fold(entry.title)) in existing:
            report.skipped.append((entry, _("already in the space under this title")))
        else:
            to_write.append((entry, key))
    report.created_spaces = [
        pair for pair in spaces.planned.values() if any(k == pair[0] for _e, k in to_write)
    ]
    if dry_run:
        report.imported = [(entry, key, None) for entry, key in to_write]
        return report
    with transaction.atomic():
        created: dict[str, Space] = {}
        for key, name in report.created_spaces:
            created[key] = services.space_create(
                by=owner,
                key=key,
                name=name,
                visibility=Visibility.MEMBERS,
                description=_("Created by an import."),
            )
        for entry, key in to_write:
            space = created.get(key) or spaces.by_key[key]
            article = services.article_create(
                by=owner,
                space_id=space.pk,
                title=entry.title,
                body=entry.body,
                summary=entry.summary,
                tags=entry.tags,
                lang=entry.lang,
                note=_("Imported from %(source)s") % {"source": entry.source[-150:]},
            )
            if publish:
                services.article_publish(by=owner, article_id=article.pk, skip_review=True)
            report.imported.append((entry, key, article.pk))
    return report
