"""What the chaser tells people: mail through the outbox, and notifications under the bell.

Mail is written in the recipient's language (their `locale`, Chinese by default) as plain text and a
simple HTML part built from the same `Mail`, with links back to the desk under `BASE_URL`
(`SERVICEDESK_BASE_URL`). `queue_mails` puts messages in the outbox in the caller's transaction, in
one statement, once per idempotency key; the sender (chaser.outbox) delivers them later. `notify`
adds the rows the bell counts (the tick adds a batch's at once), so that a user without mail is
still chased.

Subjects carry a tag: 【催办】 in Chinese, [Reminder] in English.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import bindparam, func, insert, select, update

from servicedesk.config import LOCALES
from servicedesk.extensions import db
from servicedesk.i18n import format_day, is_chinese, once_per_locale
from servicedesk.models import Notification, OutboxMessage

DEFAULT_LOCALE = LOCALES[0]
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
#: the outbox's subject column
SUBJECT_MAX_LENGTH = 300

#: what a notification or a chase record is, in words (the chase kinds of domain.chase.Kind)
KIND_LABELS = {
    "due_soon": _l("Due soon"),
    "due_today": _l("Due today"),
    "overdue": _l("Overdue"),
    "escalate_head": _l("Escalated to the department head"),
    "escalate_leadership": _l("Escalated to leadership"),
}

#: which deadline, as a noun (domain.chase deadlines)
DEADLINE_NOUNS = {
    "sign": _l("signing"),
    "respond": _l("its response"),
    "feedback": _l("the company's feedback"),
    "extension": _l("a decision on an extension request"),
    "milestone": _l("a milestone"),
}

ESCALATION_LEVELS = {
    1: _l("escalated to the department head"),
    2: _l("escalated to leadership"),
}


class Person(Protocol):
    """Whom a mail is written for: a User, or a digest's recipient row."""

    display_name: str
    locale: str | None


class Addressee(Person, Protocol):
    """Whom a mail can be queued for: a User, or the tick's view of one."""

    id: int
    email: str | None
    active: bool


_kind_labels = once_per_locale(lambda: {kind: str(label) for kind, label in KIND_LABELS.items()})
_deadline_nouns = once_per_locale(lambda: {name: str(noun) for name, noun in DEADLINE_NOUNS.items()})


def kind_label(kind: str) -> str:
    return _kind_labels().get(kind, kind)


def deadline_noun(deadline: str) -> str:
    return _deadline_nouns().get(deadline, deadline)


# Language and links

def locale_of(user: Person) -> str:
    """The language mail to the user is written in: theirs, else the desk's default (Chinese)."""
    return user.locale if user.locale in LOCALES else DEFAULT_LOCALE


@contextmanager
def language_of(user: Person) -> Iterator[str]:
    """Write in the user's language for the duration of the block."""
    locale = locale_of(user)
    with force_locale(locale):
        yield locale


def base_url() -> str:
    return str(current_app.config.get("BASE_URL") or DEFAULT_BASE_URL)


def desk_url(base: str, endpoint: str, **values: Any) -> str:
    """An address in the desk for mail: BASE_URL and the view's path, built without a request."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base.rstrip("/") + path


def demand_url(base: str, demand_id: int) -> str:
    return desk_url(base, "demands.show", demand_id=demand_id)


def tagged(tag: str, text: str) -> str:
    """【催办】text in Chinese, [Reminder] text in English, on one line."""
    subject = f"【{tag}】{text}" if is_chinese() else f"[{tag}] {text}"
    subject = " ".join(subject.split())  # a header is one line whatever a title holds
    if len(subject) > SUBJECT_MAX_LENGTH:
        subject = subject[:SUBJECT_MAX_LENGTH - 1] + "…"
    return subject


def listing(parts: Iterable[str]) -> str:
    """Parts of a sentence in the current language: 甲、乙 / a, b."""
    return ("、" if is_chinese() else ", ").join(p for p in parts if p)


def overdue_words(days: int) -> str:
    return ngettext("%(num)d working day overdue", "%(num)d working days overdue", days)


# One mail, two parts

@dataclass(frozen=True)
class Line:
    """One item of a mail: the linked words (a demand's number and title), then the rest."""

    linked: str
    url: str | None = None
    rest: str = ""


@dataclass(frozen=True)
class Section:
    heading: str
    lines: Sequence[Line]


@dataclass
class Mail:
    subject: str
    greeting: str
    paragraphs: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    #: closing lines: where to look, why the mail came
    footer: list[Line] = field(default_factory=list)
    lang: str = "zh-CN"

    def parts(self) -> tuple[str, str, str]:
        """(subject, plain text, HTML)."""
        return self.subject, render_text(self), render_html(self)


def render_text(mail: Mail) -> str:
    out = [mail.greeting, ""]
    for paragraph in mail.paragraphs:
        out += [paragraph, ""]
    for section in mail.sections:
        out.append(f"■ {section.heading}")
        for number, line in enumerate(section.lines, start=1):
            out.append(f"{number}. {line.linked}{line.rest}")
            if line.url:
                out.append(f"   {line.url}")
        out.append("")
    if mail.footer:
        out.append("—")
        for line in mail.footer:
            out.append(f"{line.linked}{line.rest}" + (f" {line.url}" if line.url else ""))
    return "\n".join(out).rstrip() + "\n"


def _html_line(line: Line) -> str:
    linked = escape(line.linked)
    if line.url:
        linked = f'<a href="{escape(line.url)}">{linked}</a>'
    return f"{linked}{escape(line.rest)}"


def _footer_line(line: Line) -> str:
    """The words, then the address itself as the link: a footer says where to look."""
    if not line.url:
        return str(escape(line.linked + line.rest))
    return f'{escape(line.linked)} <a href="{escape(line.url)}">{escape(line.url)}</a>{escape(line.rest)}'


def render_html(mail: Mail) -> str:
    out = [f'<!doctype html>\n<html lang="{escape(mail.lang)}">',
           f'<head><meta charset="utf-8"><title>{escape(mail.subject)}</title></head>', "<body>",
           f"<p>{escape(mail.greeting)}</p>"]
    out += [f"<p>{escape(paragraph)}</p>" for paragraph in mail.paragraphs]
    for section in mail.sections:
        out.append(f"<h3>{escape(section.heading)}</h3>")
        out.append("<ol>")
        out += [f"<li>{_html_line(line)}</li>" for line in section.lines]
        out.append("</ol>")
    if mail.footer:
        out.append("<hr>")
        out += [f"<p><small>{_footer_line(line)}</small></p>" for line in mail.footer]
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def new_mail(recipient: Person, subject: str) -> Mail:
    """A mail to the user, in the language in force (call inside `language_of(recipient)`)."""
    return Mail(subject=subject, greeting=greeting(recipient), lang="zh-CN" if is_chinese() else "en")


def greeting(recipient: Person) -> str:
    """How a mail to the user opens, in the language in force."""
    return _("Dear %(name)s,", name=recipient.display_name)


def standard_footer(base: str) -> list[Line]:
    return [
        Line(_("Sent by the Enterprise Service Desk; reminders cannot be turned off.")),
        Line(_("What you are chased for:"), desk_url(base, "messages.chased_for")),
    ]


# The outbox

def mail_address(recipient: Addressee) -> str | None:
    """Where mail to the user goes; None when they have no address or are deactivated."""
    address = (recipient.email or "").strip()
    return address if address and recipient.active else None


def queue_mails(rows: Sequence[dict[str, Any]]) -> int:
    """Put messages (`outbox_values` rows) in the outbox, pending, in the caller's transaction: one
    query for the keys queued already, one statement for the rest. The same key is the same message,
    queued once, whether it is in the outbox already or given twice. Returns how many were queued."""
    if not rows:
        return 0
    queued = set(db.session.scalars(select(OutboxMessage.idempotency_key).where(
        OutboxMessage.idempotency_key.in_([row["idempotency_key"] for row in rows]))))
    fresh = []
    for row in rows:
        if row["idempotency_key"] not in queued:
            queued.add(row["idempotency_key"])
            fresh.append(row)
    if fresh:
        db.session.execute(insert(OutboxMessage.__table__), fresh)
    return len(fresh)


def outbox_values(key: str, kind: str, recipient_id: int | None, address: str,
                  subject_and_bodies: tuple[str, str, str], demand_id: int | None,
                  now: datetime) -> dict[str, Any]:
    """The outbox row's values, for `queue_mails` (and the digests, which insert theirs at once)."""
    subject, text, html = subject_and_bodies
    return {"idempotency_key": key, "kind": kind, "recipient_id": recipient_id, "to_address": address,
            "subject": subject[:SUBJECT_MAX_LENGTH], "body_text": text, "body_html": html,
            "demand_id": demand_id, "status": "pending", "attempts": 0, "next_attempt_at": now,
            "created_at": now}


# Escalations: sent on their own, at once

@dataclass(frozen=True)
class Escalation:
    """What the mail of an escalation tells: the demand, the deadline it missed and how late it is."""

    #: escalate_head or escalate_leadership (domain.chase.Kind)
    kind: str
    demand_id: int
    demand_number: str
    demand_title: str
    company: str
    #: the department that owes the deadline
    department: str | None
    #: sign, respond, feedback, extension or milestone
    deadline: str
    #: the milestone's title, for a milestone's deadline
    milestone: str | None
    due: date
    days_overdue: int


def escalation_mails(escalation: Escalation, recipients: Sequence[Person],
                     base_url: str) -> list[tuple[str, str, str]]:
    """The mail of an escalation (to the department head, or to leadership) to each recipient, in
    their language: (subject, text, HTML) each. The words are composed once per language; only the
    greeting is the recipient's own."""
    mails: dict[int, tuple[str, str, str]] = {}
    for locale in dict.fromkeys(locale_of(recipient) for recipient in recipients):
        with force_locale(locale):
            words = _escalation_words(escalation, base_url)
            for position, recipient in enumerate(recipients):
                if locale_of(recipient) == locale:
                    mails[position] = replace(words, greeting=greeting(recipient)).parts()
    return [mails[position] for position in range(len(recipients))]


def _escalation_words(escalation: Escalation, base_url: str) -> Mail:
    """The escalation's mail in the language in force, but for its greeting."""
    number, title, company = escalation.demand_number, escalation.demand_title, escalation.company
    to_leadership = escalation.kind == "escalate_leadership"
    overdue = overdue_words(escalation.days_overdue)
    tag = _("Escalation to leadership") if to_leadership else _("Escalation")
    mail = Mail(subject=tagged(tag, _("%(number)s %(title)s: %(overdue)s", number=number, title=title,
                                      overdue=overdue)),
                greeting="", lang="zh-CN" if is_chinese() else "en")
    deadline = deadline_noun(escalation.deadline)
    if escalation.milestone is not None:
        deadline = _("the milestone “%(title)s”", title=escalation.milestone)
    mail.paragraphs.append(_(
        "Demand %(number)s “%(title)s” of %(company)s, led by %(department)s, was due for "
        "%(deadline)s on %(due)s and is now %(overdue)s.",
        number=number, title=title, company=company, department=escalation.department or "—",
        deadline=deadline, due=format_day(escalation.due), overdue=overdue))
    if to_leadership:
        mail.paragraphs.append(_("It has been escalated to leadership and put under key supervision."))
    else:
        mail.paragraphs.append(_("As the head of the department, please see that it is dealt with "
                                 "today; if it stays overdue it goes to leadership."))
    mail.sections.append(Section(kind_label(escalation.kind), [Line(
        f"{number} {title}", demand_url(base_url, escalation.demand_id), f" — {company}")]))
    mail.footer = standard_footer(base_url)
    return mail


# The bell

def notify(user_ids: Iterable[int], kind: str, demand_id: int | None, chase_record_id: int | None,
           now: datetime) -> None:
    """Tell each user (once, however often the id is given) under the bell."""
    rows = notification_values(user_ids, kind, demand_id, chase_record_id)
    if rows:
        db.session.execute(insert(Notification.__table__).values(created_at=now), rows)


def notification_values(user_ids: Iterable[int], kind: str, demand_id: int | None,
                        chase_record_id: int | None) -> list[dict[str, Any]]:
    """The rows telling each user (once, however often the id is given), made at the moment the
    caller inserts them with."""
    return [{"user_id": user_id, "kind": kind, "demand_id": demand_id, "chase_record_id": chase_record_id}
            for user_id in dict.fromkeys(user_ids)]


#: built once, as every page's bell runs it
_UNREAD_COUNT = (select(func.count()).select_from(Notification)
                 .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None)))


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread: one query."""
    return db.session.scalar(_UNREAD_COUNT, {"user_id": user_id}) or 0


def mark_read(user_id: int, notification_id: int, now: datetime) -> bool:
    """Mark one of the user's notifications read; False when the user has no such notification."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        return False
    if notification.read_at is None:
        notification.read_at = now
    return True


def mark_all_read(user_id: int, now: datetime) -> int:
    """Mark every unread notification of the user read; how many were."""
    result = db.session.execute(update(Notification)
                                .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                                .values(read_at=now))
    return int(getattr(result, "rowcount", 0) or 0)
