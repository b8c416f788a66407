"""Text that comes from people: remote HTML sanitised on ingest, Markdown rendered.

Replies from the fediverse arrive as HTML written by someone else's server;
they pass nh3's allow-list before they are stored, and templates escape
everything else again on render. Staff write articles and opinions in
Markdown; raw HTML in it is not passed through.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

MAX_CONTENT_CHARS = 20_000

_REMOTE = nh3.Cleaner(
    tags={"p", "br", "a", "span", "strong", "em", "b", "i", "u", "del", "s", "ul", "ol",
          "li", "blockquote", "code", "pre"},
    attributes={"a": {"href"}},
    allowed_classes={"a": {"mention", "hashtag", "u-url"},
                     "span": {"h-card", "invisible", "ellipsis"}},
    url_schemes={"http", "https"},
    link_rel="nofollow noopener noreferrer",
    clean_content_tags={"script", "style"},
)

_STAFF = nh3.Cleaner(
    tags={"p", "br", "a", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre",
          "h1", "h2", "h3", "h4", "hr"},
    attributes={"a": {"href", "title"}},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
)

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})


def sanitize_remote_html(html: str) -> str:
    """Fediverse reply HTML kept to text, links and mentions; capped in length.

    The cap applies before cleaning, so a cut-off tag is cleaned like any other.
    """
    return _REMOTE.clean(html[:MAX_CONTENT_CHARS])


def render_markdown(source: str) -> str:
    """Staff Markdown to safe HTML (raw HTML in the source is shown as text)."""
    return _STAFF.clean(_MARKDOWN.render(source))
