"""Files attached to a visit or a demand: checked, kept under the instance folder, served to those
who may see them under their original names.

Only photos (JPEG, PNG), PDF, Word and Excel files are accepted, each no larger than
UPLOAD_MAX_BYTES; the type is judged by the name's extension and the file's first bytes, never by
what the browser claims. Files live in instance/uploads/attachments/ under a random name; the
row (servicedesk.models.Attachment) keeps the original name for the download.

A form that is shown again before it is saved (another demand added, the duplicate check, an
error) would make the user pick the files again; instead `keep` holds each accepted file under
instance/uploads/attachments/pending/ with a token the form carries, and `adopt` turns it into an
attachment when the form is finally saved. Only the user who uploaded a pending file can adopt it;
pending files nobody saved are removed after a day.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import abort, current_app, send_file
from flask_babel import gettext as _
from werkzeug import Response
from werkzeug.datastructures import FileStorage

from servicedesk import clock, uploads
from servicedesk.extensions import db
from servicedesk.models import Attachment, Demand, User, Visit

#: extension → content type; what the desk accepts
TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: what the file picker offers (the `accept` attribute)
ACCEPT = ",".join(f".{extension}" for extension in TYPES)

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old Office formats (.doc, .xls)
_SIGNATURES = {
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "pdf": (b"%PDF-",),
    "doc": (_OLE2,),
    "xls": (_OLE2,),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
}
#: the part an Office Open XML package of each kind must contain
_OOXML_PART = {"docx": "word/", "xlsx": "xl/"}

#: how long a file kept for a form that was not saved stays
PENDING_MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AttachmentRefused(ValueError):
    """The file is not accepted; the message says why, naming the file."""


@dataclass(frozen=True)
class PendingAttachment:
    """A checked file kept for a form that has not been saved yet."""

    token: str
    original_name: str
    content_type: str
    size: int
    user_id: int


def directory() -> Path:
    return Path(current_app.instance_path) / "uploads" / "attachments"


def pending_directory() -> Path:
    return directory() / "pending"


def max_bytes() -> int:
    return int(current_app.config["UPLOAD_MAX_BYTES"])


def clean_name(file_name: str | None) -> str:
    """The name as the user knows it, without a path some browsers send, control characters or
    more than 255 characters (the extension is kept)."""
    name = _CONTROL.sub("", (file_name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 254 - len(extension)] + dot + extension) if dot and len(extension) < 10 else name[:255]
    return name


def _extension(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def _read(upload: FileStorage) -> bytes:
    """The file's bytes, reading at most one byte past the limit."""
    stream: IO[bytes] = upload.stream
    with contextlib.suppress(OSError, ValueError):
        stream.seek(0)
    return stream.read(max_bytes() + 1)


def check(upload: FileStorage) -> tuple[str, str, bytes]:
    """(original name, content type, bytes) of an acceptable file; AttachmentRefused otherwise."""
    name = clean_name(upload.filename)
    shown = name or _("(no name)")
    extension = _extension(name)
    if extension not in TYPES:
        raise AttachmentRefused(_(
            "%(name)s was not accepted: only photos (.jpg, .png), PDF, Word (.doc, .docx) and Excel "
            "(.xls, .xlsx) files can be attached.", name=shown))
    data = _read(upload)
    if len(data) > max_bytes():
        raise AttachmentRefused(_("%(name)s was not accepted: it is larger than %(limit)s.",
                                  name=shown, limit=human_size(max_bytes())))
    if not data:
        raise AttachmentRefused(_("%(name)s was not accepted: the file is empty.", name=shown))
    if not _looks_like(extension, data):
        raise AttachmentRefused(_(
            "%(name)s was not accepted: its content is not a %(extension)s file. Save it again in "
            "that format, or give it the right extension.", name=shown, extension=f".{extension}"))
    return name, TYPES[extension], data


def _looks_like(extension: str, data: bytes) -> bool:
    if not data.startswith(_SIGNATURES[extension]):
        return False
    part = _OOXML_PART.get(extension)
    if part is None:
        return True
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return any(n.startswith(part) for n in package.namelist())
    except (zipfile.BadZipFile, ValueError):
        return False


def _new_stored_name() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_bytes(data)


def _attach(*, visit: Visit | None, demand: Demand | None, user: User, original_name: str,
            content_type: str, size: int, stored_name: str) -> Attachment:
    if (visit is None) == (demand is None):
        raise ValueError("an attachment belongs to a visit or to a demand")
    attachment = Attachment(
        visit_id=visit.id if visit else None, demand_id=demand.id if demand else None,
        original_name=original_name, stored_name=stored_name, content_type=content_type, size=size,
        uploaded_by_id=user.id, uploaded_at=clock.now())
    db.session.add(attachment)
    db.session.flush()
    return attachment


def save(upload: FileStorage, *, visit: Visit | None = None, demand: Demand | None = None,
         user: User) -> Attachment:
    """Check the file, store it and add its row to the current transaction.

    The visit or demand must have its id (flushed). Raises AttachmentRefused, storing nothing.
    """
    if (visit is not None and visit.id is None) or (demand is not None and demand.id is None):
        db.session.flush()
    name, content_type, data = check(upload)
    stored_name = _new_stored_name()
    _write(directory() / stored_name, data)
    return _attach(visit=visit, demand=demand, user=user, original_name=name,
                   content_type=content_type, size=len(data), stored_name=stored_name)


def path_of(attachment: Attachment) -> Path:
    return directory() / attachment.stored_name


def send(attachment: Attachment) -> Response:
    """The file as a download under its original name. The caller checks who may see it."""
    path = path_of(attachment)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.original_name, max_age=0, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# Files kept between two showings of a form

def _pending_paths(token: str) -> tuple[Path, Path]:
    folder = pending_directory()
    return folder / f"{token}.data", folder / f"{token}.json"


def keep(upload: FileStorage, user: User) -> PendingAttachment:
    """Check the file and keep it for the user until the form is saved; AttachmentRefused
    otherwise."""
    name, content_type, data = check(upload)
    purge_pending()
    token = _new_stored_name()
    data_path, meta_path = _pending_paths(token)
    _write(data_path, data)
    meta_path.write_text(json.dumps({"original_name": name, "content_type": content_type,
                                     "size": len(data), "user_id": user.id}), "utf-8")
    return PendingAttachment(token, name, content_type, len(data), user.id)


def pending(token: str, user: User) -> PendingAttachment | None:
    """The file kept under the token, if it is still there and the user uploaded it."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    data_path, meta_path = _pending_paths(token)
    try:
        info = json.loads(meta_path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if info.get("user_id") != user.id or not data_path.is_file():
        return None
    return PendingAttachment(token, str(info["original_name"]), str(info["content_type"]),
                             int(info["size"]), user.id)


def adopt(kept: PendingAttachment, *, visit: Visit | None = None, demand: Demand | None = None,
          user: User) -> Attachment:
    """Make a kept file an attachment of the visit or demand, in the current transaction."""
    if kept.user_id != user.id:
        raise AttachmentRefused(_("This file was uploaded by someone else."))
    data_path, meta_path = _pending_paths(kept.token)
    stored_name = _new_stored_name()
    target = directory() / stored_name
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.replace(data_path, target)
    except OSError as error:
        raise AttachmentRefused(_("%(name)s is no longer available: attach it again.",
                                  name=kept.original_name)) from error
    meta_path.unlink(missing_ok=True)
    return _attach(visit=visit, demand=demand, user=user, original_name=kept.original_name,
                   content_type=kept.content_type, size=kept.size, stored_name=stored_name)


def purge_pending(now: float | None = None) -> None:
    """Remove the kept files of forms nobody saved within PENDING_MAX_AGE_SECONDS."""
    uploads.purge_older_than(pending_directory(), PENDING_MAX_AGE_SECONDS, now)
