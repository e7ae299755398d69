"""The knowledge base's pages (knowledge/views.py) through the Django test client, as each
person of tests/knowledge/conftest.py: the space admin, an editor, a reviewer, a reader and an
outsider who reads nothing of the members-only spaces. Also the top bar's search box and
suggestions, the navigation entries, and the workflow's side of "how to do this step" (the task
page and the start page link the articles that explain them)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from knowledge import services
from knowledge.models import Article, ArticleAttachment, Space, SpaceRole
from portal.models import User
from tests.factories import english
from tests.workflow.approval_helpers import deploy_steps, user_task
from workflow.models import Task
from workflow.services import engine

pytestmark = pytest.mark.django_db

# a 1×1 transparent PNG: what a pasted screenshot looks like to the server
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return client


def text_of(response: Any) -> str:
    return response.content.decode()


def page_count(response: Any) -> dict[str, int]:
    return {space.name: space.article_count for space in response.context["spaces"]}


def editor_post(**fields: Any) -> dict[str, Any]:
    data = {
        "title": "打印机驱动安装",
        "summary": "",
        "tags": "打印机, 驱动",
        "lang": "zh-hans",
        "body": "# 安装\n\n下载驱动后双击安装。",
        "note": "",
        "action": "save",
    }
    data.update(fields)
    return data


# --- spaces ------------------------------------------------------------------------------------


def test_the_space_list_shows_what_each_person_reads(
    kb_space: Space, kb_article: Article, kb_people: dict[str, User]
) -> None:
    reader = client_of(kb_people["reader"]).get(reverse("knowledge:spaces"))
    assert reader.status_code == 200
    assert "IT 服务台" in text_of(reader)
    assert page_count(reader) == {"IT 服务台": 1}
    outsider = client_of(kb_people["outsider"]).get(reverse("knowledge:spaces"))
    assert outsider.status_code == 200
    assert "IT 服务台" not in text_of(outsider)


def test_the_new_space_page_is_for_those_who_may_add_spaces(
    kb_people: dict[str, User], kb_space: Space
) -> None:
    assert client_of(kb_people["reader"]).get(reverse("knowledge:space_create")).status_code == 403
    creator = User.objects.get(username="kb_creator")
    client = client_of(creator)
    assert client.get(reverse("knowledge:space_create")).status_code == 200
    bad = client.post(reverse("knowledge:space_create"), {"key": "fin", "name": ""})
    assert bad.status_code == 400
    assert not Space.objects.filter(key="fin").exists()
    made = client.post(
        reverse("knowledge:space_create"),
        {"key": "fin", "name": "财务", "visibility": "public", "review_months": "12"},
    )
    assert made.status_code == 302
    assert made["Location"] == reverse("knowledge:space", args=["fin"])


def test_the_space_home_lists_recent_most_read_tags_and_pages(
    kb_space: Space, kb_article: Article, kb_people: dict[str, User]
) -> None:
    editor = kb_people["editor"]
    for number in range(21):  # 22 articles: two pages of 20
        article = services.article_create(
            by=editor, space_id=kb_space.pk, title=f"常见问题 {number}", body="内容", tags=["FAQ"]
        )
        services.article_publish(by=editor, article_id=article.pk)
    client = client_of(kb_people["reader"])
    page = client.get(reverse("knowledge:space", args=["it"]))
    assert page.status_code == 200
    html = text_of(page)
    assert "常见问题 20" in html
    assert "faq" in html.lower() and "vpn" in html.lower()  # the tag cloud
    assert 'id="kb-more"' in html
    more = page.context["next_url"]
    rows = client.get(
        reverse("knowledge:space", args=["it"]) + more, headers={"HX-Request": "true"}
    )
    assert rows.status_code == 200
    assert "<html" not in text_of(rows)
    assert len(rows.context["articles"]) == 2
    assert "VPN 连接指南" in text_of(rows)  # the oldest comes last
    tagged = client.get(reverse("knowledge:space", args=["it"]), {"tag": "vpn"})
    assert [a.title for a in tagged.context["articles"]] == ["VPN 连接指南"]
    assert (
        client_of(kb_people["outsider"]).get(reverse("knowledge:space", args=["it"])).status_code
        == 404
    )


def test_members_are_shown_to_readers_and_changed_by_space_admins(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    url = reverse("knowledge:members", args=["it"])
    reader = client_of(kb_people["reader"])
    assert reader.get(url).status_code == 200
    assert reader.post(url, {"person": "liuyang", "role": "reader"}).status_code == 403
    outsider = client_of(kb_people["outsider"])
    assert outsider.get(url).status_code == 404
    admin = client_of(kb_people["admin"])
    neither = admin.post(url, {"role": "reader"})
    assert neither.status_code == 400
    given = admin.post(url, {"person": "liuyang", "role": SpaceRole.READER})
    assert given.status_code == 302
    assert outsider.get(reverse("knowledge:space", args=["it"])).status_code == 200
    removed = admin.post(
        reverse("knowledge:member_remove", args=["it"]), {"user": kb_people["outsider"].pk}
    )
    assert removed.status_code == 302
    assert outsider.get(reverse("knowledge:space", args=["it"])).status_code == 404


def test_settings_are_for_space_admins(kb_space: Space, kb_people: dict[str, User]) -> None:
    url = reverse("knowledge:space_settings", args=["it"])
    assert client_of(kb_people["editor"]).get(url).status_code == 403
    admin = client_of(kb_people["admin"])
    assert admin.get(url).status_code == 200
    saved = admin.post(
        url,
        {
            "name": "IT 服务台",
            "name_en": "IT help desk",
            "visibility": "members",
            "review_months": "6",
        },
    )
    assert saved.status_code == 302
    kb_space.refresh_from_db()
    assert (kb_space.name_en, kb_space.review_months) == ("IT help desk", 6)


def test_the_help_entry_opens_the_help_space(kb_people: dict[str, User]) -> None:
    client = client_of(kb_people["reader"])
    assert client.get(reverse("knowledge:help")).status_code == 404
    creator = User.objects.create_superuser("root", password="x")
    services.space_create(by=creator, key="help", name="帮助中心", visibility="public")
    answer = client.get(reverse("knowledge:help"))
    assert answer.status_code == 302
    assert answer["Location"] == reverse("knowledge:space", args=["help"])


# --- the article page --------------------------------------------------------------------------


def test_an_article_renders_for_its_readers_and_counts_the_view(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    url = reverse("knowledge:article", args=[kb_article.pk])
    page = client_of(kb_people["reader"]).get(url)
    assert page.status_code == 200
    html = text_of(page)
    assert "<h2>连接步骤</h2>" in html
    assert "在家办公时如何连接公司 VPN" in html
    kb_article.refresh_from_db()
    assert kb_article.view_count == 1
    assert client_of(kb_people["outsider"]).get(url).status_code == 404


def test_a_draft_is_seen_by_the_space_workers_only(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    draft = services.article_create(
        by=kb_people["editor"], space_id=kb_space.pk, title="草稿", body="未完成"
    )
    url = reverse("knowledge:article", args=[draft.pk])
    assert client_of(kb_people["reader"]).get(url).status_code == 404
    assert client_of(kb_people["reviewer"]).get(url).status_code == 200
    page = client_of(kb_people["editor"]).get(url)
    assert page.status_code == 200
    assert page.context["shown"]["is_draft"]


def test_may_be_outdated_with_confirm_for_the_owner(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    Article.objects.filter(pk=kb_article.pk).update(review_date="2020-01-01")
    url = reverse("knowledge:article", args=[kb_article.pk])
    owner_page = client_of(kb_people["editor"]).get(url)
    assert owner_page.context["outdated"] and owner_page.context["may_confirm"]
    assert reverse("knowledge:article_confirm", args=[kb_article.pk]) in text_of(owner_page)
    reader_page = client_of(kb_people["reader"]).get(url)
    assert reader_page.context["outdated"] and not reader_page.context["may_confirm"]
    refused = client_of(kb_people["reader"]).post(
        reverse("knowledge:article_confirm", args=[kb_article.pk])
    )
    assert refused.status_code == 403
    done = client_of(kb_people["editor"]).post(
        reverse("knowledge:article_confirm", args=[kb_article.pk])
    )
    assert done.status_code == 302
    kb_article.refresh_from_db()
    assert not kb_article.may_be_outdated()


def test_feedback_through_htmx(kb_article: Article, kb_people: dict[str, User]) -> None:
    url = reverse("knowledge:article_feedback", args=[kb_article.pk])
    client = client_of(kb_people["reader"])
    answer = client.post(url, {"helpful": "1", "comment": "清楚"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert "<html" not in text_of(answer)
    kb_article.refresh_from_db()
    assert kb_article.helpful_count == 1
    changed = client.post(url, {"helpful": "0"}, headers={"HX-Request": "true"})
    assert changed.status_code == 200
    kb_article.refresh_from_db()
    assert (kb_article.helpful_count, kb_article.not_helpful_count) == (0, 1)
    assert client.post(url, {}, headers={"HX-Request": "true"}).status_code == 400
    assert client_of(kb_people["outsider"]).post(url, {"helpful": "1"}).status_code == 404


def test_delete_to_the_recycle_bin_and_restore(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    reader = client_of(kb_people["reader"])
    assert reader.post(reverse("knowledge:article_delete", args=[kb_article.pk])).status_code == 403
    editor = client_of(kb_people["editor"])
    assert editor.post(reverse("knowledge:article_delete", args=[kb_article.pk])).status_code == 302
    assert reader.get(reverse("knowledge:article", args=[kb_article.pk])).status_code == 404
    bin_url = reverse("knowledge:recycle_bin", args=["it"])
    assert editor.get(bin_url).status_code == 403
    admin = client_of(kb_people["admin"])
    listed = admin.get(bin_url)
    assert "VPN 连接指南" in text_of(listed)
    restore = reverse("knowledge:article_undelete", args=["it", kb_article.pk])
    assert admin.post(restore).status_code == 302
    assert reader.get(reverse("knowledge:article", args=[kb_article.pk])).status_code == 200


# --- the editor --------------------------------------------------------------------------------


def test_the_editor_is_for_editors(kb_space: Space, kb_people: dict[str, User]) -> None:
    url = reverse("knowledge:article_new", args=["it"])
    assert client_of(kb_people["editor"]).get(url).status_code == 200
    assert client_of(kb_people["reader"]).get(url).status_code == 403
    assert client_of(kb_people["outsider"]).get(url).status_code == 404
    assert client_of(kb_people["reader"]).post(url, editor_post()).status_code == 403
    assert not Article.objects.filter(title="打印机驱动安装").exists()


def test_save_then_save_and_publish(kb_space: Space, kb_people: dict[str, User]) -> None:
    client = client_of(kb_people["editor"])
    saved = client.post(reverse("knowledge:article_new", args=["it"]), editor_post())
    assert saved.status_code == 302
    article = Article.objects.get(title="打印机驱动安装")
    assert not article.is_published
    assert sorted(t.name for t in article.tags.all()) == ["打印机", "驱动"]
    edit_url = reverse("knowledge:article_edit", args=[article.pk])
    assert client.get(edit_url).status_code == 200
    published = client.post(edit_url, editor_post(body="改好了", base_number="1", action="publish"))
    assert published.status_code == 302
    article.refresh_from_db()
    assert article.is_published and article.latest_number == 2


def test_bad_input_changes_nothing(kb_space: Space, kb_people: dict[str, User]) -> None:
    client = client_of(kb_people["editor"])
    answer = client.post(reverse("knowledge:article_new", args=["it"]), editor_post(title=""))
    assert answer.status_code == 400
    assert "下载驱动后双击安装" in text_of(answer)  # what was typed is still there
    assert not Article.objects.exists()


def test_a_conflict_keeps_what_was_typed(kb_article: Article, kb_people: dict[str, User]) -> None:
    editor = kb_people["editor"]
    services.article_save(
        by=kb_people["admin"], article_id=kb_article.pk, title=kb_article.title, body="别人改的"
    )
    client = client_of(editor)
    url = reverse("knowledge:article_edit", args=[kb_article.pk])
    answer = client.post(url, editor_post(body="我的修改，不能丢", base_number="1"))
    assert answer.status_code == 409
    html = text_of(answer)
    assert "我的修改，不能丢" in html
    assert 'class="errors kb-conflict"' in html
    kb_article.refresh_from_db()
    assert kb_article.latest_number == 2 and kb_article.body == "别人改的"
    # saving again puts it on top of the version that won: both stay in the history
    assert answer.context["form"]["base_number"].value() == "2"
    again = client.post(url, editor_post(body="我的修改，不能丢", base_number="2"))
    assert again.status_code == 302
    kb_article.refresh_from_db()
    assert kb_article.latest_number == 3 and kb_article.body == "我的修改，不能丢"


def test_submit_for_review_in_a_review_space(
    kb_review_space: Space, kb_people: dict[str, User]
) -> None:
    client = client_of(kb_people["editor"])
    new = client.get(reverse("knowledge:article_new", args=["hr"]))
    assert 'value="submit"' in text_of(new) and 'value="publish"' not in text_of(new)
    answer = client.post(
        reverse("knowledge:article_new", args=["hr"]),
        editor_post(title="年假规定", action="submit"),
    )
    assert answer.status_code == 302
    article = Article.objects.get(title="年假规定")
    assert article.review_instance_id is not None and not article.is_published
    page = client.get(reverse("knowledge:article", args=[article.pk]))
    assert page.context["review_state"] == "in_review"
    assert reverse("workflow:instance", args=[article.review_instance_id]) in text_of(page)
    # publishing by hand is refused with the reason, nothing published
    refused = client.post(reverse("knowledge:article_publish", args=[article.pk]), follow=True)
    article.refresh_from_db()
    assert not article.is_published
    assert refused.status_code == 200


def test_the_preview_renders_sanitized_html(kb_people: dict[str, User]) -> None:
    client = client_of(kb_people["reader"])
    answer = client.post(
        reverse("knowledge:preview"),
        {"body": "**粗体** <script>alert(1)</script> [x](javascript:alert(1))"},
    )
    assert answer.status_code == 200
    html = text_of(answer)
    assert "<strong>粗体</strong>" in html
    assert "<script" not in html and 'href="javascript' not in html
    assert client.get(reverse("knowledge:preview")).status_code == 405


def test_a_pasted_image_is_attached_and_served_inline(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    url = reverse("knowledge:attachment_upload", args=[kb_article.pk])
    upload = SimpleUploadedFile("image.png", PNG, content_type="image/png")
    reader = client_of(kb_people["reader"])
    assert (
        reader.post(url, {"file": upload}, headers={"Accept": "application/json"}).status_code
        == 403
    )
    upload.seek(0)
    answer = client_of(kb_people["editor"]).post(
        url, {"file": upload}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 200, answer.content
    data = json.loads(answer.content)
    attachment = ArticleAttachment.objects.get(pk=data["id"])
    assert data["markdown"] == f"![{attachment.name}]({data['url']})"
    image = reader.get(data["url"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff"
    assert image["Content-Disposition"].startswith("inline")
    download = reader.get(reverse("knowledge:attachment", args=[attachment.pk]))
    assert download["Content-Disposition"].startswith("attachment")
    preview = reader.get(
        reverse("knowledge:attachment_preview", args=[attachment.pk]),
        headers={"HX-Request": "true"},
    )
    assert 'class="preview-image"' in text_of(preview)
    assert data["url"] in text_of(preview)
    outsider = client_of(kb_people["outsider"])
    assert outsider.get(data["url"]).status_code == 404
    bad = client_of(kb_people["editor"]).post(
        url,
        {
            "file": SimpleUploadedFile(
                "x.exe", b"MZ\x90\x00", content_type="application/x-msdownload"
            )
        },
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 400
    assert json.loads(bad.content)["error"]


# --- versions ----------------------------------------------------------------------------------


def test_history_diff_and_restore(kb_article: Article, kb_people: dict[str, User]) -> None:
    editor = kb_people["editor"]
    services.article_save(
        by=editor,
        article_id=kb_article.pk,
        title=kb_article.title,
        body="# 连接步骤\n\n1. 打开新版客户端\n2. 输入工号和密码\n",
    )
    client = client_of(kb_people["reader"])
    history = client.get(reverse("knowledge:article_history", args=[kb_article.pk]))
    assert history.status_code == 200
    assert len(history.context["versions"]) == 2
    assert not history.context["may_restore"]
    diff = client.get(reverse("knowledge:article_diff", args=[kb_article.pk]), {"a": "1", "b": "2"})
    assert diff.status_code == 200
    assert "<ins>新版</ins>" in text_of(diff)  # Chinese compared by character
    missing = client.get(
        reverse("knowledge:article_diff", args=[kb_article.pk]), {"a": "1", "b": "9"}
    )
    assert missing.status_code == 404
    restore = reverse("knowledge:article_restore", args=[kb_article.pk, 1])
    assert client.post(restore).status_code == 403
    assert client_of(editor).post(restore).status_code == 302
    kb_article.refresh_from_db()
    assert kb_article.latest_number == 3 and "打开客户端" in kb_article.body


# --- search ------------------------------------------------------------------------------------


def test_the_search_page(kb_article: Article, kb_people: dict[str, User]) -> None:
    client = client_of(kb_people["reader"])
    empty = client.get(reverse("knowledge:search"))
    assert empty.status_code == 200 and empty.context["results"] is None
    found = client.get(reverse("knowledge:search"), {"q": "客户端"})
    assert [hit.title for hit in found.context["results"].hits] == ["VPN 连接指南"]
    assert "<mark>" in text_of(found)
    nothing = client.get(reverse("knowledge:search"), {"q": 'NEAR( " 不存在的词汇'})
    assert nothing.status_code == 200
    assert not nothing.context["results"].hits
    assert 'class="card kb-empty"' in text_of(nothing)
    filtered = client.get(reverse("knowledge:search"), {"q": "VPN", "space": "it", "since": "bad"})
    assert filtered.status_code == 200 and filtered.context["results"].total == 1
    outsider = client_of(kb_people["outsider"]).get(reverse("knowledge:search"), {"q": "VPN"})
    assert outsider.context["results"].total == 0


def test_suggestions_as_one_types(kb_article: Article, kb_people: dict[str, User]) -> None:
    answer = client_of(kb_people["reader"]).get(reverse("knowledge:suggest"), {"q": "VP"})
    assert answer.status_code == 200
    assert "VPN 连接指南" in text_of(answer)
    assert "<html" not in text_of(answer)
    outsider = client_of(kb_people["outsider"]).get(reverse("knowledge:suggest"), {"q": "VP"})
    assert "VPN 连接指南" not in text_of(outsider)
    blank = client_of(kb_people["reader"]).get(reverse("knowledge:suggest"), {"q": " "})
    assert text_of(blank).strip() == ""


def test_the_shell_has_the_search_box_and_the_navigation_entries(
    kb_people: dict[str, User],
) -> None:
    english(kb_people["reader"])
    page = client_of(kb_people["reader"]).get(reverse("portal:dashboard"))
    html = text_of(page)
    assert f'action="{reverse("knowledge:search")}"' in html
    assert f'hx-get="{reverse("knowledge:suggest")}"' in html
    assert f'href="{reverse("knowledge:spaces")}"' in html and ">Knowledge base<" in html
    assert f'href="{reverse("knowledge:help")}"' in html and ">Help<" in html


# --- how to do this step -----------------------------------------------------------------------


def _guide(kb_space: Space, editor: User, *, title: str, step: str) -> Article:
    article = services.article_create(by=editor, space_id=kb_space.pk, title=title, body="步骤说明")
    services.article_guides_set(by=editor, article_id=article.pk, guides=[("kb_guided", step)])
    services.article_publish(by=editor, article_id=article.pk)
    return article


def test_the_task_page_links_the_steps_guide_for_who_may_read_it(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    reader, outsider = kb_people["reader"], kb_people["outsider"]
    deploy_steps(user_task("check", assignee=reader.username), key="kb_guided")
    step_guide = _guide(kb_space, kb_people["editor"], title="如何核对申请", step="check")
    _guide(kb_space, kb_people["editor"], title="流程总览", step="")
    instance_id = engine.instance_start("kb_guided", variables={}, initiator=outsider)
    task = Task.objects.get(instance_id=instance_id, state="open")
    english(reader)
    page = client_of(reader).get(reverse("workflow:task", args=[task.pk]))
    assert page.status_code == 200
    html = text_of(page)
    assert 'id="guides"' in html and "How to do this step" in html
    assert reverse("knowledge:article", args=[step_guide.pk]) in html
    assert "流程总览" not in html  # the process's guide is not this step's
    # the initiator sees the instance's tasks but reads nothing of the space: no link
    theirs = client_of(outsider).get(reverse("workflow:task", args=[task.pk]))
    assert theirs.status_code == 200
    assert "如何核对申请" not in text_of(theirs)


def test_the_start_page_links_the_process_guide(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    reader = kb_people["reader"]
    deploy_steps(user_task("check", assignee=reader.username), key="kb_guided")
    overview = _guide(kb_space, kb_people["editor"], title="流程总览", step="")
    page = client_of(reader).get(reverse("workflow:start", args=["kb_guided"]))
    assert page.status_code == 200
    assert reverse("knowledge:article", args=[overview.pk]) in text_of(page)
    editor_page = client_of(kb_people["editor"]).get(
        reverse("knowledge:article_edit", args=[overview.pk])
    )
    assert 'value="kb_guided:"' in text_of(editor_page) and 'value="kb_guided:check"' in text_of(
        editor_page
    )


def test_a_readers_lists_show_the_published_version_not_a_draft_saved_since(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    """The space's lists (all articles, recently updated, most read) show what readers read:
    the title and summary of the published version, never an unpublished draft's."""
    services.article_save(
        by=kb_people["editor"],
        article_id=kb_article.pk,
        title="草稿中的新标题",
        summary="尚未发布的摘要",
        body="草稿",
    )
    html = text_of(client_of(kb_people["reader"]).get(reverse("knowledge:space", args=["it"])))
    assert "VPN 连接指南" in html and "在家办公时如何连接公司 VPN" in html
    assert "草稿中的新标题" not in html and "尚未发布的摘要" not in html
