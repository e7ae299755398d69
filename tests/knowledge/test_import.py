"""``manage.py import_articles``: Markdown folders and JSON Lines files read from real files,
every bad entry reported with where and what, the good ones imported through the services in
one transaction, nothing at all in a dry run, spaces found by key or title (and created)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from django.utils.translation import gettext

from knowledge import search, selectors, services
from knowledge.importing import Entry, Problem, parse_markdown_file, read_entries
from knowledge.models import Article, AuditEvent, Space, Visibility
from portal.models import User
from tests.factories import english

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(superuser: User) -> User:
    english(superuser)
    return User.objects.get(pk=superuser.pk)


@pytest.fixture
def it_space(admin: User) -> Space:
    return services.space_create(
        by=admin, key="it", name="IT 服务台", name_en="IT help desk", visibility=Visibility.PUBLIC
    )


def run(*args: str) -> tuple[int, str, str]:
    """The command's exit status, stdout and stderr (in English)."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with translation.override("en"):
        try:
            call_command("import_articles", *args, stdout=out, stderr=err)
        except CommandError as error:
            status = error.returncode
            err.write(str(error))
    return status, out.getvalue(), err.getvalue()


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def jsonl(folder: Path, *lines: Any) -> Path:
    rendered = [
        line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines
    ]
    return write(folder, "articles.jsonl", "\n".join(rendered) + "\n")


# --- parsing ------------------------------------------------------------------------------------


def test_front_matter_gives_the_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "vpn.md",
        "---\ntitle: VPN 连接指南\nspace: it\ntags: [VPN, 远程办公]\nsummary: 如何连接\n"
        "lang: zh-hans\nauthor: ignored\n---\n\n在家办公时先连接 VPN。\n",
    )
    entry = parse_markdown_file(path)
    assert entry == Entry(
        source=str(path),
        title="VPN 连接指南",
        body="在家办公时先连接 VPN。",
        space="it",
        tags=("VPN", "远程办公"),
        summary="如何连接",
        lang="zh-hans",
    )


def test_the_title_falls_back_to_the_heading_then_the_file_name(tmp_path: Path) -> None:
    heading = parse_markdown_file(
        write(tmp_path, "a.md", "```\n# not this\n```\n# 报销流程\n\n正文")
    )
    assert isinstance(heading, Entry)
    assert heading.title == "报销流程"
    assert "# 报销流程" not in heading.body and "# not this" in heading.body
    named = parse_markdown_file(write(tmp_path, "printer-setup_guide.md", "Install the driver."))
    assert isinstance(named, Entry)
    assert named.title == "printer setup guide"
    assert named.lang == "en"  # no Chinese in the text


def test_tags_in_front_matter_may_be_one_line(tmp_path: Path) -> None:
    entry = parse_markdown_file(write(tmp_path, "a.md", "---\ntags: 报销, 差旅，2024\n---\n正文"))
    assert isinstance(entry, Entry)
    assert entry.tags == ("报销", "差旅", "2024")


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("---\ntitle: [unclosed\n---\nbody", "bad front matter YAML"),
        ("---\n- a\n- b\n---\nbody", "not a mapping"),
        ("---\ntitle: t\nbody without end", "no closing"),
        ("---\ntitle: t\n---\n", "no body"),
        ("---\ntitle: t\nlang: fr\n---\nbody", "unknown lang"),
        ("---\ntitle: t\ntags: {a: 1}\n---\nbody", "tags is not a list of strings"),
        (f"---\ntitle: {'x' * 201}\n---\nbody", "201 characters"),
        ("---\ntitle: t\nsummary: [1]\n---\nbody", "summary is not text"),
    ],
)
def test_a_bad_markdown_file_is_one_problem_saying_what(
    tmp_path: Path, text: str, wanted: str
) -> None:
    with translation.override("en"):
        found = parse_markdown_file(write(tmp_path, "bad.md", text))
    assert isinstance(found, Problem)
    assert found.where.endswith("bad.md")
    assert wanted in found.message


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    with translation.override("en"):
        found = parse_markdown_file(write(tmp_path, "gbk.md", "# 标题\n正文".encode("gbk")))
    assert isinstance(found, Problem)
    assert "not UTF-8" in found.message


def test_read_entries_of_a_folder_reads_every_markdown_file(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "# A\ntext")
    write(tmp_path, "sub/b.markdown", "# B\ntext")
    write(tmp_path, "notes.txt", "not markdown")
    write(tmp_path, ".hidden.md", "# hidden\ntext")
    entries, problems = read_entries(tmp_path)
    assert [e.title for e in entries] == ["A", "B"]
    assert problems == []


# --- importing a folder ---------------------------------------------------------------------------


def test_a_good_folder_is_imported_as_drafts(tmp_path: Path, admin: User, it_space: Space) -> None:
    write(tmp_path, "vpn.md", "---\ntitle: VPN 指南\nspace: it\ntags: [VPN]\n---\n连接 VPN。")
    write(tmp_path, "mail.md", "---\nspace: IT help desk\n---\n# Mail setup\n\nOpen Outlook.")
    status, out, err = run(str(tmp_path))
    assert status == 0, err
    assert "Articles imported as drafts: 2." in out
    articles = {a.title: a for a in Article.objects.filter(space=it_space)}
    assert set(articles) == {"VPN 指南", "Mail setup"}  # a space by its English title too
    vpn = articles["VPN 指南"]
    assert vpn.owner == admin and vpn.latest_number == 1 and vpn.published_version is None
    assert [t.name for t in vpn.tags.all()] == ["vpn"]
    assert [v.number for v in selectors.versions_of(vpn)] == [1]
    assert AuditEvent.objects.filter(article=vpn, action="created").exists()
    # again: nothing twice
    status, out, _err = run(str(tmp_path))
    assert status == 0 and "Articles imported as drafts: 0." in out and "skipped" in out
    assert Article.objects.filter(space=it_space).count() == 2


def test_publish_publishes_and_indexes(tmp_path: Path, admin: User, it_space: Space) -> None:
    write(tmp_path, "vpn.md", "---\ntitle: VPN 连接指南\nspace: it\n---\n在家办公时连接公司 VPN。")
    status, out, err = run(str(tmp_path), "--publish")
    assert status == 0, err
    assert "Articles imported and published: 1." in out
    article = Article.objects.get(title="VPN 连接指南")
    assert article.published_version is not None
    assert [hit.article_id for hit in search.search(admin, "VPN").hits] == [article.pk]


def test_a_space_admin_publishes_into_a_reviewed_space_without_review(
    tmp_path: Path, admin: User, employee: User
) -> None:
    """``--publish`` is an administrator's import of documents approved elsewhere: in a space
    that reviews, its admin publishes them directly (recorded in the audit trail); an editor
    who is not its admin gets every entry refused and nothing imported."""
    space = services.space_create(
        by=admin, key="fin", name="财务", visibility=Visibility.PUBLIC, requires_review=True
    )
    services.space_member_set(by=admin, space_id=space.pk, role="editor", user=employee)
    english(employee)
    write(tmp_path, "a.md", "---\ntitle: 差旅报销制度\nspace: fin\n---\n出差结束后 30 天内报销。")
    status, _out, err = run(str(tmp_path), "--publish", "--owner", "zhangwei")
    assert status == 1 and "reviews its articles" in err
    assert not Article.objects.exists()
    status, _out, err = run(str(tmp_path), "--publish")
    assert status == 0, err
    article = Article.objects.get(title="差旅报销制度")
    assert article.published_version is not None and selectors.review_state(article) == "published"
    published = AuditEvent.objects.get(article=article, action="published")
    assert published.actor == admin and "without review" in published.detail
    assert [hit.article_id for hit in search.search(employee, "报销").hits] == [article.pk]


def test_space_override_and_owner(
    tmp_path: Path, admin: User, it_space: Space, employee: User
) -> None:
    services.space_create(by=admin, key="hr", name="人力资源", visibility=Visibility.PUBLIC)
    write(tmp_path, "a.md", "---\ntitle: A\nspace: hr\n---\ntext")
    services.space_member_set(by=admin, space_id=it_space.pk, role="editor", user=employee)
    status, _out, err = run(str(tmp_path), "--space", "it", "--owner", "zhangwei")
    assert status == 0, err
    article = Article.objects.get(title="A")
    assert article.space == it_space and article.owner == employee


def test_an_owner_who_may_not_write_there_imports_nothing(
    tmp_path: Path, admin: User, it_space: Space, outsider: User
) -> None:
    english(outsider)  # the command speaks the owner's language
    write(tmp_path, "a.md", "---\ntitle: A\nspace: it\n---\ntext")
    status, _out, err = run(str(tmp_path), "--owner", "liuyang")
    assert status == 1
    assert "may not write" in err
    assert not Article.objects.exists()


def test_unknown_space_option_or_owner_is_an_error(tmp_path: Path, admin: User) -> None:
    write(tmp_path, "a.md", "---\ntitle: A\n---\ntext")
    status, _out, err = run(str(tmp_path), "--space", "nope")
    assert status == 1 and "no space" in err
    status, _out, err = run(str(tmp_path), "--owner", "nobody")
    assert status == 1 and "no active user" in err
    assert not Article.objects.exists()


def test_a_space_named_by_a_new_title_is_created(tmp_path: Path, admin: User) -> None:
    path = jsonl(
        tmp_path,
        {"space": "财务制度", "title": "报销标准", "body": "住宿每晚 500 元。"},
        {"space": "财务制度", "title": "发票要求", "body": "增值税专用发票。"},
        {"space": "Sales Playbook", "title": "Pricing", "body": "List prices."},
    )
    status, out, err = run(str(path))
    assert status == 0, err
    finance = Space.objects.get(name="财务制度")
    assert finance.key == "space-1"  # no Latin letters: a numbered key
    assert finance.visibility == Visibility.MEMBERS
    assert Space.objects.get(name="Sales Playbook").key == "sales-playbook"
    assert finance.articles.count() == 2
    assert "Created the space space-1 (财务制度)" in out
    assert "admin_space" in selectors.space_permissions(admin, finance)


# --- JSON Lines -----------------------------------------------------------------------------------


def test_mixed_bad_lines_are_each_reported_and_only_good_ones_imported(
    tmp_path: Path, admin: User, it_space: Space
) -> None:
    path = jsonl(
        tmp_path,
        {"space": "it", "title": "Good one", "body": "text", "tags": ["a"], "extra": 1},  # 1
        "{not json",  # 2
        "[1, 2]",  # 3
        {"space": "it", "body": "no title"},  # 4
        {"space": "it", "title": "no body"},  # 5
        {"space": "it", "title": "t6", "body": "b", "tags": "vpn"},  # 6
        {"space": "it", "title": "t7", "body": "b", "tags": [1, 2]},  # 7
        {"space": "it", "title": "t8", "body": "b", "lang": "fr"},  # 8
        {"space": "it", "title": "x" * 201, "body": "b"},  # 9
        {"space": ["it"], "title": "t10", "body": "b"},  # 10
        "",  # 11: blank, skipped
        {"title": "t12", "body": "no space"},  # 12
        {"space": "it", "title": "Second good", "body": "text", "lang": "en"},  # 13
        {"space": "x" * 101, "title": "t14", "body": "b"},  # 14
        {"space": "it", "title": "t15", "body": 5},  # 15
    )
    status, out, err = run(str(path))
    assert status == 1
    for number, wanted in [
        (2, "bad JSON"),
        (3, "not a JSON object"),
        (4, "no title"),
        (5, "no body"),
        (6, "tags is not a list of strings"),
        (7, "tags is not a list of strings"),
        (8, "unknown lang"),
        (9, "201 characters"),
        (10, "space is not text"),
        (12, "no space"),
        (14, "neither a space's key nor a title"),
        (15, "body is not text"),
    ]:
        assert (
            f"line {number}: " in err and wanted in err.split(f"line {number}: ")[1].split("\n")[0]
        ), (
            number,
            wanted,
            err,
        )
    assert "line 1:" not in err and "line 11:" not in err and "line 13:" not in err
    assert "Bad entries, not imported: 12." in err
    assert set(Article.objects.values_list("title", flat=True)) == {"Good one", "Second good"}
    assert "Articles imported as drafts: 2." in out


def test_encoding_errors_are_reported_by_line(tmp_path: Path, admin: User, it_space: Space) -> None:
    good = json.dumps({"space": "it", "title": "好的", "body": "正文"}, ensure_ascii=False)
    bad = json.dumps({"space": "it", "title": "坏的", "body": "正文"}, ensure_ascii=False)
    path = write(tmp_path, "a.jsonl", good.encode() + b"\n" + bad.encode("gbk") + b"\n")
    status, _out, err = run(str(path))
    assert status == 1
    assert "line 2: not UTF-8 text" in err
    assert list(Article.objects.values_list("title", flat=True)) == ["好的"]


def test_a_dry_run_imports_nothing(tmp_path: Path, admin: User, it_space: Space) -> None:
    path = jsonl(
        tmp_path,
        {"space": "it", "title": "A", "body": "text"},
        {"space": "新空间", "title": "B", "body": "text"},
        {"space": "it", "title": ""},
    )
    spaces = Space.objects.count()
    status, out, err = run(str(path), "--dry-run")
    assert status == 1  # line 3 is bad
    assert "line 3:" in err
    assert "Would create the space space-1 (新空间)." in out
    assert "Dry run: articles that would be imported: 2; nothing was changed." in out
    assert not Article.objects.exists()
    assert Space.objects.count() == spaces
    assert not AuditEvent.objects.filter(article__isnull=False).exists()


def test_a_ten_megabyte_line_is_refused_without_stopping_the_rest(
    tmp_path: Path, admin: User, it_space: Space
) -> None:
    huge = json.dumps({"space": "it", "title": "Huge", "body": "x" * (10 * 1024 * 1024)})
    path = jsonl(
        tmp_path,
        {"space": "it", "title": "Small", "body": "ok"},
        huge,
        {"space": "it", "title": "After", "body": "ok"},
    )
    status, _out, err = run(str(path))
    assert status == 1
    assert "line 2: too large (10.0 MB" in err
    assert set(Article.objects.values_list("title", flat=True)) == {"Small", "After"}


def test_the_same_title_twice_for_a_space_is_refused(
    tmp_path: Path, admin: User, it_space: Space
) -> None:
    path = jsonl(
        tmp_path,
        {"space": "it", "title": "Same", "body": "one"},
        {"space": "IT 服务台", "title": "same", "body": "two"},
    )
    status, _out, err = run(str(path))
    assert status == 1
    assert "line 1:" in err and "line 2:" in err and "(first: line 1)" in err
    assert not Article.objects.exists()


def test_a_missing_path_is_reported(tmp_path: Path, admin: User) -> None:
    status, _out, err = run(str(tmp_path / "nope.jsonl"))
    assert status == 1
    assert "no such file or folder" in err


def test_messages_follow_the_owners_language(tmp_path: Path, admin: User) -> None:
    admin.preferred_language = "zh-hans"
    admin.save()
    with translation.override("zh-hans"):
        if gettext("line %(number)d") == "line %(number)d":
            pytest.skip("the Chinese catalogue has no knowledge import messages yet")
    path = jsonl(tmp_path, "{bad")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_articles", str(path), stdout=out, stderr=err)
    assert "line 1" not in err.getvalue()  # 第 1 行 ...
