"""An article's Markdown as HTML that is safe to show to any reader.

Anyone who may edit a space writes Markdown every reader of the space sees, so the HTML
must never run code in a reader's browser. Two layers, each enough on its own for what it
covers:

1. **markdown-it-py** (CommonMark, with tables and strikethrough) with ``html`` off: raw
   HTML in the text (``<script>``, ``<img onerror=…>``, ``<iframe>``) is escaped and shown as
   text, never passed through; its link check already drops ``javascript:``, ``vbscript:``
   and ``file:`` links, after decoding entities (``jav&#x61;script:``).
2. **nh3** (ammonia) over the result with an explicit allow-list: the tags Markdown makes,
   ``href``/``title`` on links and ``src``/``alt``/``title`` on images, nothing else (no
   ``style``, no ``on*``, no ``class``); URLs only ``http``, ``https``, ``mailto`` or
   relative (an attachment's own URL), so a ``data:`` image or a link smuggled past layer 1
   is removed; every link gets ``rel="noopener noreferrer"``.
"""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "URL_SCHEMES", "render"]

ALLOWED_TAGS = frozenset(
    {
        "h2", "h3", "h4", "h5", "h6",
        "p", "br", "hr",
        "ul", "ol", "li",
        "table", "thead", "tbody", "tr", "th", "td",
        "pre", "code", "blockquote",
        "a", "img",
        "em", "strong", "del", "s",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def _under_the_title(level: str) -> str:
    """An article's own headings one level down (``#`` becomes ``<h2>``): the page's title is
    its one ``<h1>``, for readers and for screen readers' outline."""
    return f"h{min(int(level[1]) + 1, 6)}"


def render(markdown_text: str) -> str:
    """The sanitized HTML of ``markdown_text`` (safe to ``mark_safe``); empty text gives "".
    Headings are one level down (:func:`_under_the_title`)."""
    if not markdown_text:
        return ""
    parser = _parser()
    env: dict[str, object] = {}
    tokens = parser.parse(markdown_text, env)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = _under_the_title(token.tag)
    html = parser.renderer.render(tokens, parser.options, env)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
