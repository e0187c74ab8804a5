"""A real SMTP server on loopback (aiosmtpd) for the outbox tests, that can be down and up again."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from servicedesk.extensions import db
from servicedesk.models import OutboxMessage

#: Monday 15 June 2026, 09:00 Beijing time
NOW = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)


def free_port() -> int:
    """A port nothing listens on (the server 'down' until started on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    #: addresses the server refuses with 550
    refused: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # aiosmtpd's hook names
    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str,  # noqa: N802
                          _options: Any) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd in its own thread on 127.0.0.1:port; `start()`/`stop()` bring it up and down."""

    def __init__(self, port: int | None = None, login: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.handler = Handler()
        self.login = login
        self.logins: list[str] = []
        self._controller: Controller | None = None

    def _authenticate(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str,
                      auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self.login is not None:
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if (user, password) == self.login:
                self.logins.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.login is not None:
            options = {"authenticator": self._authenticate, "auth_require_tls": False,
                       "auth_required": True}
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()  # returns once the server answers

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def config(self, **overrides: Any) -> dict[str, Any]:
        from flask import current_app

        return {**current_app.config, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port,
                "MAIL_USE_TLS": False, "MAIL_USERNAME": None, "MAIL_PASSWORD": None,
                "MAIL_FROM": "服务台 <desk@zone.example.cn>", "MAIL_TIMEOUT_SECONDS": 5, **overrides}


def make_message(number: int = 1, *, created_at: datetime = NOW, status: str = "pending",
                 next_attempt_at: datetime | None = None, to: str | None = None,
                 **values: Any) -> OutboxMessage:
    """An outbox message as the chaser writes it (committed)."""
    message = OutboxMessage(
        idempotency_key=values.pop("idempotency_key", f"test:{number}"),
        kind=values.pop("kind", "escalate_head"),
        to_address=to or f"handler{number}@zone.example.cn",
        subject=values.pop("subject", f"【督办】诉求“新建生产线用地”已逾期 {number}"),
        body_text=values.pop("body_text", f"请尽快办理。第 {number} 件。\nhttp://127.0.0.1:5000/demands/{number}"),
        body_html=values.pop("body_html", f"<p>请尽快办理。第 {number} 件。</p>"),
        status=status,
        attempts=values.pop("attempts", 0),
        next_attempt_at=next_attempt_at or created_at,
        created_at=created_at,
        **values,
    )
    db.session.add(message)
    db.session.commit()
    return message


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)
