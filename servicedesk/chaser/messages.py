"""What the chaser tells people: mail through the outbox, and notifications under the bell.

Mail is written in the recipient's language (their `locale`, Chinese by default) as plain text and a
simple HTML part built from the same `Mail`, with links back to the desk under `BASE_URL`
(`SERVICEDESK_BASE_URL`). `queue_mail` puts one message in the outbox in the caller's transaction,
once per idempotency key; the sender (chaser.outbox) delivers it later. `notify` adds the rows the
bell counts, so that a user without mail is still chased.

Subjects carry a tag: 【催办】 in Chinese, [Reminder] in English.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import func, select, update

from servicedesk.config import LOCALES
from servicedesk.extensions import db
from servicedesk.i18n import format_day, is_chinese
from servicedesk.models import ChaseRecord, Department, Milestone, Notification, OutboxMessage, User

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


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)
    return str(label) if label is not None else kind


def deadline_noun(deadline: str) -> str:
    label = DEADLINE_NOUNS.get(deadline)
    return str(label) if label is not None else deadline


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
    return Mail(subject=subject, greeting=_("Dear %(name)s,", name=recipient.display_name),
                lang="zh-CN" if is_chinese() else "en")


def standard_footer(base: str) -> list[Line]:
    return [
        Line(_("Sent by the Enterprise Service Desk; reminders cannot be turned off.")),
        Line(_("What you are chased for:"), desk_url(base, "messages.chased_for")),
    ]


# The outbox

def queue_mail(key: str, kind: str, recipient: User, subject_and_bodies: tuple[str, str, str],
               demand_id: int | None, now: datetime) -> OutboxMessage | None:
    """Put a mail in the outbox, pending from now, in the caller's transaction.

    Nothing (None) when the recipient has no address or is deactivated, or when a message with the
    key is in the outbox already: the same key is the same message, queued once.
    """
    address = (recipient.email or "").strip()
    if not address or not recipient.active:
        return None
    if any(isinstance(o, OutboxMessage) and o.idempotency_key == key for o in db.session.new):
        return None
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None:
        return None
    message = outbox_message(key, kind, recipient.id, address, subject_and_bodies, demand_id, now)
    db.session.add(message)
    db.session.flush()
    return message


def outbox_message(key: str, kind: str, recipient_id: int | None, address: str,
                   subject_and_bodies: tuple[str, str, str], demand_id: int | None,
                   now: datetime) -> OutboxMessage:
    """The outbox row, not added to the session."""
    values = outbox_values(key, kind, recipient_id, address, subject_and_bodies, demand_id, now)
    return OutboxMessage(**values)


def outbox_values(key: str, kind: str, recipient_id: int | None, address: str,
                  subject_and_bodies: tuple[str, str, str], demand_id: int | None,
                  now: datetime) -> dict[str, Any]:
    """The outbox row's values, for callers that insert many at once (the digests)."""
    subject, text, html = subject_and_bodies
    return {"idempotency_key": key, "kind": kind, "recipient_id": recipient_id, "to_address": address,
            "subject": subject[:SUBJECT_MAX_LENGTH], "body_text": text, "body_html": html,
            "demand_id": demand_id, "status": "pending", "attempts": 0, "next_attempt_at": now,
            "created_at": now}


# Escalations: sent on their own, at once

def escalation_mail(record: ChaseRecord, recipient: User, base_url: str, *,
                    days_overdue: int | None = None) -> tuple[str, str, str]:
    """The mail of an escalation (to the department head, or to leadership), in the recipient's
    language: (subject, text, HTML). `days_overdue` is counted on the working calendar when not given."""
    demand = record.demand
    if days_overdue is None:
        from servicedesk.calendar.store import working_calendar

        days_overdue = max(working_calendar().working_days_between(record.due, record.working_day), 0)
    department = record.department or (db.session.get(Department, record.department_id)
                                       if record.department_id else None) or demand.lead_department
    milestone = db.session.get(Milestone, record.milestone_id) if record.milestone_id else None
    to_leadership = record.kind == "escalate_leadership"
    with language_of(recipient):
        overdue = overdue_words(days_overdue)
        tag = _("Escalation to leadership") if to_leadership else _("Escalation")
        mail = new_mail(recipient, tagged(tag, _("%(number)s %(title)s: %(overdue)s",
                                                 number=demand.number, title=demand.title,
                                                 overdue=overdue)))
        deadline = deadline_noun(record.deadline)
        if milestone is not None:
            deadline = _("the milestone “%(title)s”", title=milestone.title)
        mail.paragraphs.append(_(
            "Demand %(number)s “%(title)s” of %(company)s, led by %(department)s, was due for "
            "%(deadline)s on %(due)s and is now %(overdue)s.",
            number=demand.number, title=demand.title, company=demand.company.name,
            department=department.name if department else "—", deadline=deadline,
            due=format_day(record.due), overdue=overdue))
        if to_leadership:
            mail.paragraphs.append(_("It has been escalated to leadership and put under key supervision."))
        else:
            mail.paragraphs.append(_("As the head of the department, please see that it is dealt with "
                                     "today; if it stays overdue it goes to leadership."))
        mail.sections.append(Section(kind_label(record.kind), [Line(
            f"{demand.number} {demand.title}", demand_url(base_url, demand.id),
            f" — {demand.company.name}")]))
        mail.footer = standard_footer(base_url)
        return mail.parts()


# The bell

def notify(user_ids: Iterable[int], kind: str, demand_id: int | None, chase_record_id: int | None,
           now: datetime) -> None:
    """Tell each user (once, however often the id is given) under the bell."""
    db.session.add_all([
        Notification(user_id=user_id, kind=kind, demand_id=demand_id, chase_record_id=chase_record_id,
                     created_at=now)
        for user_id in dict.fromkeys(user_ids)])


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread: one query."""
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


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
