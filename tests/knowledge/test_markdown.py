"""Markdown renders to HTML no reader's browser can be made to run (knowledge/markdown.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from knowledge.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](jav&#x61;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    '<iframe src="https://evil.example"></iframe>',
    "<svg onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=x onerror=alert(1)> |",
    "[x](<javascript:alert(1)>)",
    '[x](https://ok.example "title" onmouseover="alert(1)")',
    "<!-- <script>alert(1)</script> -->",
]


class _Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def _safe_url(value: str) -> bool:
    scheme = re.match(r"\s*([a-zA-Z][a-zA-Z0-9+.-]*):", value)
    return scheme is None or scheme.group(1).lower() in {"http", "https", "mailto"}


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_inert(text: str) -> None:
    for tag, attributes in _elements(render(text)):
        assert tag in ALLOWED_TAGS
        for name, value in attributes:
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) or (tag, name) == ("a", "rel")
            if name in ("href", "src"):
                assert _safe_url(value or ""), (tag, name, value)


def test_raw_html_is_shown_as_text() -> None:
    assert render("<b>粗体</b>") == "<p>&lt;b&gt;粗体&lt;/b&gt;</p>\n"
    assert _elements(render('<img src="x" onerror="alert(1)">')) == [("p", [])]


def test_links_that_are_not_http_lose_their_target() -> None:
    assert "href" not in render("[x](jav&#x61;script:alert(1))")
    assert "src" not in render("![x](data:image/png;base64,iVBORw0KGgo=)")


def test_markdown_features_survive() -> None:
    html = render(
        "# 标题\n\n**粗** *斜* ~~删~~\n\n- 一\n- 二\n\n> 引用\n\n```\ncode\n```\n\n"
        "| 列 | 值 |\n|---|---|\n| a | 1 |\n\n---\n\n"
        '[链接](https://example.com "提示") [站内](/knowledge/articles/3/) [信](mailto:a@b.cn)\n\n'
        '![图](/knowledge/attachments/5/ "说明")'
    )
    for piece in (
        "<h2>标题</h2>",  # one level down: the page's title is its one <h1>
        "<strong>粗</strong>",
        "<em>斜</em>",
        "<s>删</s>",
        "<li>一</li>",
        "<blockquote>",
        "<pre><code>code",
        "<table>",
        "<td>a</td>",
        "<hr>",
        '<a href="https://example.com" title="提示" rel="noopener noreferrer">链接</a>',
        '<a href="/knowledge/articles/3/" rel="noopener noreferrer">站内</a>',
        'href="mailto:a@b.cn"',
        '<img src="/knowledge/attachments/5/" alt="图" title="说明">',
    ):
        assert piece in html


def test_empty_text_is_empty() -> None:
    assert render("") == ""


def test_headings_sit_under_the_page_title() -> None:
    html = render("# 一\n\n## 二\n\n###### 六")
    assert "<h1>" not in html
    assert "<h2>一</h2>" in html and "<h3>二</h3>" in html and "<h6>六</h6>" in html
