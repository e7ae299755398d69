"""The knowledge base in a real browser.

(a) 张伟, an editor of the reviewed space 财务制度, writes an article, pastes a screenshot into
    it and submits it for review; 王芳, its reviewer, returns it with a comment on the
    workflow's task page; 张伟 reads the comment on the article, fixes it and resubmits; 王芳
    approves and the article is published. 刘洋, in another department, finds it in the top
    bar's search by a word that only occurs inside a longer word, and marks it helpful.
(b) 刘洋 searches on a phone (375×812): the top bar's box, its suggestions, the results page,
    no sideways scrolling.
(c) Screenshots of every page of the knowledge base, desktop and phone, Chinese and English:
    ``knowledge-<page>-<desktop|phone>-<zh|en>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from knowledge import services
from knowledge.models import Article, Space, SpaceRole, Visibility
from portal.models import User
from tests.e2e.journey_helpers import fits_phone, wait_until
from tests.e2e.test_shell import sign_in
from workflow.models import Task

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

# a small PNG (8×8, blue): what a pasted screenshot looks like
PNG_HEX = (
    "89504e470d0a1a0a0000000d49484452000000080000000808020000004b6d29dc0000001649444154789c"
    "6310f9ff9f0114307185b1a962000095d43f01a75d1d9e0000000049454e44ae426082"
)
# the article's body: 「发票」 occurs only inside the longer word 「电子发票报销系统」
BODY = "# 报销步骤\n\n登录电子发票报销系统，填写差旅明细并上传行程单。\n"
QUERY = "发票"
TABLE = "| 项目 | 说明 |\n|---|---|\n| 账号 | 工号 |\n"


def _space(creator: User, key: str, name: str, *, review: bool) -> Space:
    return services.space_create(
        by=creator, key=key, name=name, visibility=Visibility.PUBLIC, requires_review=review
    )


def _people_of(space: Space, creator: User, **roles: User) -> None:
    for role, person in roles.items():
        services.space_member_set(by=creator, space_id=space.pk, role=role, user=person)


@pytest.fixture
def finance_space(employee: User, colleague: User) -> Space:
    """财务制度: public, reviewed; 张伟 writes, 王芳 reviews."""
    creator = User.objects.create_superuser("kbroot", password="x")
    space = _space(creator, "finance", "财务制度", review=True)
    _people_of(space, creator, **{SpaceRole.EDITOR: employee, SpaceRole.REVIEWER: colleague})
    return space


def paste_image(page: Page, selector: str) -> None:
    """Paste a PNG into the textarea as a browser does with a screenshot on the clipboard."""
    page.locator(selector).focus()
    page.evaluate(
        """([selector, hex]) => {
          const bytes = new Uint8Array(hex.match(/../g).map((b) => parseInt(b, 16)));
          const data = new DataTransfer();
          data.items.add(new File([bytes], "image.png", { type: "image/png" }));
          const area = document.querySelector(selector);
          const init = { clipboardData: data, bubbles: true, cancelable: true };
          area.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        [selector, PNG_HEX],
    )


def open_review_task(article: Article) -> Task:
    article.refresh_from_db()
    return wait_until(
        lambda: Task.objects.filter(
            instance_id=article.review_instance_id, state="open", element_id="Task_Review"
        ).first(),
        what="the review task",
    )


def test_write_review_return_resubmit_publish_and_find(
    live_server: Any,
    finance_space: Space,
    employee: User,
    colleague: User,
    outsider: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    base = live_server.url
    editor = new_page("desktop")
    sign_in(editor, base, employee.username)

    # 张伟 writes the article and saves the draft
    editor.goto(f"{base}/knowledge/s/finance/")
    editor.get_by_role("link", name=re.compile("New article|新建文章")).click()
    editor.locator("#id_title").fill("差旅费报销流程")
    editor.locator("#id_summary").fill("出差回来后如何报销差旅费")
    editor.locator("#id_tags").fill("报销, 差旅")
    editor.locator("#id_body").fill(BODY)
    expect(editor.locator("#kb-preview h2")).to_have_text("报销步骤")  # the live preview
    editor.locator("button[value=save]").click()
    expect(editor.locator("h1.pagetitle")).to_have_text("差旅费报销流程")
    article = Article.objects.get(title="差旅费报销流程")

    # pastes a screenshot: uploaded, put into the text, shown in the preview
    editor.get_by_role("link", name=re.compile("^(Edit|编辑)$")).click()
    editor.locator("#id_body").press("End")
    paste_image(editor, "#id_body")
    expect(editor.locator("#id_body")).to_have_value(
        re.compile(r"!\[image-?\d*\.png\]\(/knowledge/attachments/\d+/inline/\)")
    )
    expect(editor.locator("#kb-preview img")).to_be_visible()
    screenshot(editor, "knowledge-editor-paste-desktop-zh")
    editor.locator("button[value=submit]").click()
    expect(editor.locator(".kb-review")).to_be_visible()
    article.refresh_from_db()
    assert article.attachments.count() == 1 and article.review_instance_id is not None
    assert not article.is_published

    # 王芳 returns it with a comment on the task page
    reviewer = new_page("desktop")
    sign_in(reviewer, base, colleague.username)
    task = open_review_task(article)
    reviewer.goto(f"{base}/workflow/tasks/{task.pk}/")
    reviewer.locator(".actionbar details.more > summary").click()
    reviewer.locator(".actionbar [data-action=return]").click()
    dialog = reviewer.locator("#dlg-return")
    expect(dialog).to_be_visible()
    dialog.locator("textarea").fill("请补充报销时限")
    dialog.locator("[data-confirm=return]").click()
    expect(reviewer).not_to_have_url(re.compile(rf"/workflow/tasks/{task.pk}/$"))

    # 张伟 reads why, fixes the article and resubmits the same review
    editor.goto(f"{base}/knowledge/articles/{article.pk}/")
    expect(editor.locator(".kb-review")).to_contain_text("请补充报销时限")
    screenshot(editor, "knowledge-article-returned-desktop-zh")
    editor.get_by_role("link", name=re.compile("^(Edit|编辑)$")).click()
    editor.locator("#id_body").press("End")
    editor.locator("#id_body").type("\n出差结束后 30 天内提交报销。\n")
    editor.locator("button[value=submit]").click()
    expect(editor.locator(".kb-review")).to_contain_text(re.compile("under review|正在审核"))
    article.refresh_from_db()
    first_review = article.review_instance_id

    # 王芳 approves: the article is published
    task = open_review_task(article)
    assert task.instance_id == first_review  # resubmitted, not a second request
    reviewer.goto(f"{base}/workflow/tasks/{task.pk}/")
    reviewer.locator(".actionbar [data-action=approve]").click()
    reviewer.locator("#dlg-approve [data-confirm=approve]").click()
    expect(reviewer).not_to_have_url(re.compile(rf"/workflow/tasks/{task.pk}/$"))
    published = wait_until(
        lambda: Article.objects.filter(pk=article.pk, published_version__isnull=False).first(),
        what="the article published",
    )
    assert "30 天内" in published.published_version.body

    # 刘洋 finds it by a word inside a longer word, in the top bar, and marks it helpful
    reader = new_page("desktop")
    sign_in(reader, base, outsider.username)
    box = reader.locator("#topsearch-q")
    box.fill(QUERY)
    box.press("Enter")
    expect(reader).to_have_url(re.compile(r"/knowledge/search/\?q="))
    result = reader.locator(".kb-results .kb-result-title").first
    expect(result).to_have_text("差旅费报销流程")
    expect(reader.locator(".kb-results mark").first).to_have_text(QUERY)
    screenshot(reader, "knowledge-journey-results-desktop-zh")
    result.click()
    expect(reader.locator("h1.pagetitle")).to_have_text("差旅费报销流程")
    expect(reader.locator(".kb-body img")).to_be_visible()  # the pasted screenshot
    reader.locator("#feedback textarea").fill("写得很清楚")
    reader.locator("#feedback button[value='1']").click()
    expect(reader.locator("#feedback .kb-thanks")).to_be_visible()
    expect(reader.locator("#feedback button[value='1'] .kb-count")).to_have_text("1")
    published.refresh_from_db()
    assert published.helpful_count == 1
    screenshot(reader, "knowledge-journey-helpful-desktop-zh")


def test_search_on_a_phone(
    live_server: Any,
    finance_space: Space,
    employee: User,
    outsider: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    open_space = _space(User.objects.get(username="kbroot"), "it", "IT 服务台", review=False)
    _people_of(open_space, User.objects.get(username="kbroot"), **{SpaceRole.EDITOR: employee})
    for title, body in (
        ("VPN 连接指南", "在家办公时先连接公司 VPN，再打开电子发票报销系统。"),
        ("打印机驱动安装", "下载驱动后双击安装。"),
    ):
        article = services.article_create(
            by=employee, space_id=open_space.pk, title=title, body=body
        )
        services.article_publish(by=employee, article_id=article.pk)
    base = live_server.url
    page = new_page("phone")
    sign_in(page, base, outsider.username)
    box = page.locator("#topsearch-q")
    expect(box).to_be_visible()
    fits_phone(page)
    box.click()
    box.type("VP")
    suggestion = page.locator("#topsearch-suggestions a", has_text="VPN 连接指南")
    expect(suggestion).to_be_visible()
    fits_phone(page)
    screenshot(page, "knowledge-phone-suggestions-zh")
    box.fill(QUERY)
    box.press("Enter")
    expect(page.locator(".kb-results .kb-result-title").first).to_have_text("VPN 连接指南")
    fits_phone(page)
    screenshot(page, "knowledge-phone-results-zh")
    page.locator(".kb-results .kb-result-title").first.click()
    expect(page.locator("h1.pagetitle")).to_have_text("VPN 连接指南")
    fits_phone(page)
    # nothing found: a clear empty state
    page.goto(f"{base}/knowledge/search/?q=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E8%AF%8D")
    expect(page.locator(".kb-empty")).to_be_visible()
    fits_phone(page)


def _world(employee: User, colleague: User, dept_head: User) -> dict[str, int]:
    """Something on every page: a space with articles, versions, tags, an attachment, a
    deleted article and members."""
    creator = User.objects.create_superuser("kbadmin", password="x", first_name="管理员")
    space = _space(creator, "it", "IT 服务台", review=False)
    _people_of(
        space,
        creator,
        **{SpaceRole.EDITOR: employee, SpaceRole.REVIEWER: colleague, SpaceRole.ADMIN: dept_head},
    )
    _space(creator, "finance", "财务制度", review=True)
    articles = []
    for n, (title, tags) in enumerate(
        [
            ("VPN 连接指南", ["VPN", "远程办公"]),
            ("打印机驱动安装", ["打印机"]),
            ("邮箱容量不足怎么办", ["邮箱"]),
            ("新员工电脑领用流程", ["入职", "电脑"]),
        ]
    ):
        article = services.article_create(
            by=employee,
            space_id=space.pk,
            title=title,
            summary=f"{title}的常见问题与处理办法",
            body=f"# 概述\n\n{title}：按以下步骤操作。\n\n1. 第一步\n2. 第二步\n\n{TABLE}",
            tags=tags,
        )
        services.article_publish(by=employee, article_id=article.pk)
        articles.append(article)
        for _ in range(n):
            services.article_viewed(by=dept_head, article_id=article.pk)
    first = articles[0]
    services.article_save(
        by=employee,
        article_id=first.pk,
        title=first.title,
        summary="在家办公时如何连接公司 VPN",
        body="# 概述\n\nVPN 连接指南：按以下步骤操作。\n\n1. 打开新版客户端\n2. 输入工号和动态密码",
        tags=["VPN", "远程办公"],
        note="客户端换新版",
    )
    services.article_publish(by=employee, article_id=first.pk)
    deleted = services.article_create(
        by=employee, space_id=space.pk, title="旧版报销说明", body="过时"
    )
    services.article_delete(by=employee, article_id=deleted.pk)
    return {"article": first.pk}


PAGES = [
    ("spaces", "/knowledge/"),
    ("space", "/knowledge/s/it/"),
    ("article", "/knowledge/articles/{article}/"),
    ("editor", "/knowledge/articles/{article}/edit/"),
    ("new", "/knowledge/s/it/new/"),
    ("history", "/knowledge/articles/{article}/history/"),
    ("diff", "/knowledge/articles/{article}/diff/?a=1&b=2"),
    ("search", "/knowledge/search/?q=VPN"),
    ("members", "/knowledge/s/it/members/"),
    ("recycle", "/knowledge/s/it/recycle-bin/"),
    ("settings", "/knowledge/s/it/settings/"),
]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_screenshots_of_every_page(
    live_server: Any,
    employee: User,
    colleague: User,
    dept_head: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    language: str,
) -> None:
    ids = _world(employee, colleague, dept_head)
    dept_head.preferred_language = "zh-hans" if language == "zh" else "en"
    dept_head.save(update_fields=["preferred_language"])
    base = live_server.url
    for kind in ("desktop", "phone"):
        page = new_page(kind)
        sign_in(page, base, dept_head.username)  # the space's admin: every page opens
        for name, path in PAGES:
            page.goto(base + path.format(**ids))
            expect(page.locator("h1.pagetitle")).to_be_visible()
            if kind == "phone":
                fits_phone(page)
            screenshot(page, f"knowledge-{name}-{kind}-{language}")
