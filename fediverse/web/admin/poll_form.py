"""The poll editor's form: what staff typed, as text, and the draft it makes.

The form is kept as the strings staff typed (`PollForm`), so a refused form or
a preview shows exactly that again, nothing lost. Turning it into a `PollDraft`
is where it can fail: the message then comes from `polls` (translated here) or
from the closing time. The closing time is a wall-clock time in the Netherlands
(`<input type="datetime-local">` carries no zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from werkzeug.datastructures import MultiDict

from ...i18n import TIMEZONE
from ...i18n import gettext as _
from ...polls import (
    MAX_OPINIONS,
    MAX_OPTION_LENGTH,
    MAX_OPTIONS,
    MAX_QUESTION_LENGTH,
    MAX_TEXT_LENGTH,
    Opinion,
    Poll,
    PollDraft,
)
from ...storage import Moderation

MODERATIONS: tuple[Moderation, ...] = ("open", "first", "held")
BLANK_OPINIONS = 2  # empty opinion slots below the filled ones: adding one needs no script
MAX_FIELD = 200_000  # longer than any valid text; the validators say what the limit is


class FormProblem(ValueError):
    """The form cannot make a poll; the message is for staff, in their language."""


@dataclass(frozen=True)
class PollForm:
    username: str = ""
    question: str = ""
    introduction: str = ""
    article: str = ""
    options: str = "Eens\nOneens"
    multiple: bool = False
    hide_results: bool = False
    closes_at: str = ""
    moderation: str = "first"
    opinions: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)

    def opinion_slots(self) -> list[tuple[str, str, str]]:
        """The opinions plus empty slots, at most MAX_OPINIONS in all."""
        slots = [*self.opinions, *[("", "", "")] * BLANK_OPINIONS]
        return slots[:max(MAX_OPINIONS, len(self.opinions))]


def local_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, TIMEZONE).strftime("%Y-%m-%dT%H:%M")


def form_of_poll(poll: Poll, moderation: str) -> PollForm:
    return PollForm(
        username=poll.local_username, question=poll.question, introduction=poll.introduction,
        article=poll.article, options="\n".join(poll.options), multiple=poll.multiple,
        hide_results=poll.hide_results, closes_at=local_time(poll.end_time),
        moderation=moderation,
        opinions=tuple((o.name, o.role, o.text) for o in poll.opinions))


def form_of_post(posted: MultiDict[str, str], locked: Poll | None = None) -> PollForm:
    """The posted fields as typed. A field that is locked (`locked`: the poll has
    votes) is disabled in the page, so browsers do not send it: the poll's own
    value stands in, and a forged value still reaches `check_edit`, which refuses it."""
    def text(name: str, default: str = "") -> str:
        return posted.get(name, default)[:MAX_FIELD]

    opinions = tuple(
        (text(f"opinion_name_{i}"), text(f"opinion_role_{i}"), text(f"opinion_text_{i}"))
        for i in range(MAX_OPINIONS + BLANK_OPINIONS + 1))
    form = PollForm(
        username=text("username"), question=text("question"),
        introduction=text("introduction"), article=text("article"), options=text("options"),
        multiple=posted.get("multiple") == "1", hide_results=posted.get("hide_results") == "1",
        closes_at=text("closes_at"), moderation=text("moderation", "first"),
        opinions=tuple(o for o in opinions if any(part.strip() for part in o)))
    if locked is None:
        return form
    return replace(form, question=text("question", locked.question),
                   options=text("options", "\n".join(locked.options)),
                   multiple=locked.multiple or form.multiple)


def draft_of_form(form: PollForm, poll: Poll | None) -> PollDraft:
    """The draft for `polls.validate`; FormProblem for what only the form can get wrong."""
    moderation_of(form)
    end_time = (poll.end_time if poll is not None and form.closes_at == local_time(poll.end_time)
                else closing_time(form.closes_at))
    return PollDraft(
        question=form.question, end_time=end_time, introduction=form.introduction,
        article=form.article,
        opinions=tuple(Opinion(name.strip(), role.strip(), text)
                       for name, role, text in form.opinions),
        options=tuple(line.strip() for line in form.options.splitlines() if line.strip()),
        multiple=form.multiple, hide_results=form.hide_results)


def moderation_of(form: PollForm) -> Moderation:
    for moderation in MODERATIONS:
        if form.moderation == moderation:
            return moderation
    raise FormProblem(_("Choose how comments are moderated."))


def closing_time(text: str) -> float:
    """Unix time of a `datetime-local` value (Dutch time), or one with its own zone."""
    try:
        moment = datetime.fromisoformat(text.strip()) if 0 < len(text) <= 40 else None
    except ValueError:
        moment = None
    if moment is None:
        raise FormProblem(_("Give the closing date and time, e.g. 2030-05-01 18:00."))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TIMEZONE)
    return moment.timestamp()


def explain(message: str) -> str:
    """A `PollError` from `polls` in the reader's language (the English as a fallback)."""
    known = {
        f"the question needs 1 to {MAX_QUESTION_LENGTH} characters":
            _("The question needs 1 to %(max)d characters.", max=MAX_QUESTION_LENGTH),
        f"a poll needs 2 to {MAX_OPTIONS} options":
            _("A poll needs 2 to %(max)d options, one per line.", max=MAX_OPTIONS),
        f"every option needs 1 to {MAX_OPTION_LENGTH} characters":
            _("Every option needs 1 to %(max)d characters.", max=MAX_OPTION_LENGTH),
        "options must differ from each other": _("The options must differ from each other."),
        f"at most {MAX_OPINIONS} opinions": _("At most %(max)d opinions.", max=MAX_OPINIONS),
        f"texts are limited to {MAX_TEXT_LENGTH} characters":
            _("Texts are limited to %(max)d characters.", max=MAX_TEXT_LENGTH),
        "every opinion needs a name and a text": _("Every opinion needs a name and a text."),
        "the closing time must lie between 5 minutes and a year ahead":
            _("The closing time must lie between 5 minutes and a year ahead."),
        "options and the choice mode are locked once votes exist":
            _("The options and the choice mode are locked once votes exist."),
        "the question is locked once votes exist":
            _("The question is locked once votes exist."),
        "the poll is closed already": _("The poll is closed already."),
        "only a poll that was closed early can be reopened":
            _("Only a poll that was closed early can be reopened."),
    }
    return known.get(message, message)
