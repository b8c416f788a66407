"""Comments written on the poll page: checked, made safe, moderated, federated.

A visitor writes plain text. It is escaped and given paragraphs and line breaks
here, once, and stored as the same kind of safe HTML as a sanitised fediverse
reply, so every output (page, embed, Note, replies) treats both alike. Links are
left as text: a comment form is where spam lives, and an inactive link earns it
nothing.

The e-mail address is for the library's staff (to answer or to identify a
troll); it is stored apart from everything a `Reply` carries and never leaves
the database otherwise (security.md A40).

Fediverse readers see local comments as Notes by the library actor that name
the commenter: the library is who publishes them, and a Note cannot be
attributed to a person who has no actor. The name is also in `commenterName`
(our extension), so that the hub can show it as the author without parsing the
Dutch sentence of the content.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from html import escape

from activitypub.vocab import PUBLIC, JsonObject, context_with

from .i18n import gettext as _
from .outgoing import PEILING_NS, iso
from .polls import Poll
from .storage import Moderation, Reply, ReplyState
from .urls import Urls

MAX_NAME_CHARS = 80
MAX_EMAIL_CHARS = 254
COMMENT_TERMS = {"peiling": PEILING_NS, "commenterName": "peiling:commenterName"}
_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"'.]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class CommentError(ValueError):
    """A comment that cannot be accepted; the message is for the visitor."""


@dataclass(frozen=True)
class CommentDraft:
    name: str
    email: str  # lowercased: the 'first' rule recognises an author by it
    text: str


def checked_comment(name: str, email: str, text: str, max_chars: int) -> CommentDraft:
    """The comment as it will be stored, or CommentError naming the first problem."""
    name = " ".join(_CONTROL.sub("", name).split())
    email = email.strip().lower()
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise CommentError(_("Please give a name of at most %(max)d characters.",
                             max=MAX_NAME_CHARS))
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(email):
        raise CommentError(_("Please give a valid e-mail address."))
    if not text or len(text) > max_chars:
        raise CommentError(_("Please write a comment of at most %(max)d characters.",
                             max=max_chars))
    return CommentDraft(name, email, text)


def comment_html(text: str) -> str:
    """Plain text as escaped HTML: blank lines end paragraphs, newlines break lines."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{'<br>'.join(escape(line) for line in p.split(chr(10)))}</p>"
                   for p in paragraphs)


def initial_state(moderation: Moderation, author_known: bool) -> ReplyState:
    """'open' publishes at once, 'held' holds every comment, 'first' holds an
    author's comments until staff have let one of them through."""
    if moderation == "open" or (moderation == "first" and author_known):
        return "visible"
    return "pending"


def new_comment(poll: Poll, draft: CommentDraft, state: ReplyState, urls: Urls,
                now: float) -> Reply:
    """A discussion entry for the comment, with a dereferenceable id of our own."""
    return Reply(id=f"{urls.poll(poll.id)}/comments/{uuid.uuid4().hex}", poll_id=poll.id,
                 actor=None, author_name=draft.name, author_handle=None, author_url=None,
                 content=comment_html(draft.text), published_at=now, state=state)


def comment_note(reply: Reply, poll: Poll, urls: Urls) -> JsonObject:
    """The comment as a public Note by the library actor, in reply to the poll.

    The content names the commenter (escaped: a name is plain text, A25) before
    the comment's own escaped HTML; Dutch, like the Question's text."""
    actor_id = urls.actor(poll.local_username)
    content = f"{commenter_line(reply.author_name)}{reply.content}"
    return {
        "@context": context_with(COMMENT_TERMS),
        "id": reply.id,
        "type": "Note",
        "attributedTo": actor_id,
        "inReplyTo": urls.poll(poll.id),
        "published": iso(reply.published_at),
        "url": f"{urls.poll(poll.id)}#comment-{reply.id.rsplit('/', 1)[-1]}",
        "to": [PUBLIC],
        "cc": [urls.followers(poll.local_username)],
        "content": content,
        "contentMap": {"nl": content},
        "commenterName": reply.author_name,
    }


def commenter_line(name: str) -> str:
    """The paragraph that names the commenter in a comment's Note; a hub that shows the
    name itself (`commenterName`) takes this line off again."""
    return f"<p>Reactie van {escape(name)} op de website:</p>"
