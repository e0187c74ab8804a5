"""Import files kept under the instance folder between the report and the user's confirmation.

Companies and calendar years are imported this way: upload, check, report, confirm.
instance/uploads/imports/<token>.data holds the bytes as uploaded and <token>.json who uploaded
them and under which name. Only the user who uploaded a file can open it again; files nobody
confirmed are removed after a day.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug import Response
from werkzeug.datastructures import FileStorage

from servicedesk.spreadsheets import ImportFileError

#: how long an unconfirmed upload is kept
MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{24}")


@dataclass(frozen=True)
class PendingImport:
    token: str
    file_name: str
    user_id: int
    data: bytes


def directory() -> Path:
    return Path(current_app.instance_path) / "uploads" / "imports"


def _paths(token: str) -> tuple[Path, Path]:
    folder = directory()
    return folder / f"{token}.data", folder / f"{token}.json"


def save(data: bytes, file_name: str, user_id: int) -> str:
    """Keep the file; return the token that names it."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    purge_expired()
    token = secrets.token_urlsafe(18)  # 24 characters
    workbook, meta = _paths(token)
    workbook.write_bytes(data)
    file_name = file_name.replace("\\", "/").rsplit("/", 1)[-1][:200]  # a path from old browsers
    meta.write_text(json.dumps({"file_name": file_name, "user_id": user_id}), "utf-8")
    return token


def load(token: str, user_id: int) -> PendingImport | None:
    """The file kept under the token, if it exists and belongs to the user."""
    if not _TOKEN.fullmatch(token):
        return None
    workbook, meta = _paths(token)
    try:
        info = json.loads(meta.read_text("utf-8"))
        if info.get("user_id") != user_id:
            return None
        return PendingImport(token, str(info.get("file_name") or ""), user_id, workbook.read_bytes())
    except (OSError, ValueError):
        return None


def accept(field: Any, check: Callable[[bytes], object]) -> str | None:
    """Keep the file of a validated upload field once `check` has read it; return its token.

    A file that cannot be read (check raises ImportFileError) is not kept: its message goes on the
    field and None is returned.
    """
    upload: FileStorage = field.data
    data = upload.read()
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    try:
        if len(data) > limit:
            raise ImportFileError(_("The file is larger than %(mb)d MB. Split it into smaller files.",
                                    mb=limit // (1024 * 1024) or 1))
        check(data)
    except ImportFileError as error:
        field.errors = [*field.errors, str(error)]
        return None
    return save(data, upload.filename or "", current_user.id)


def pending_or_redirect(token: str, upload_endpoint: str) -> PendingImport | Response:
    """The current user's upload kept under the token, or the way back to the upload page."""
    pending = load(token, current_user.id)
    if pending is None:
        flash(_("This upload is no longer available: it was imported, cancelled or has expired. "
                "Upload the file again."), "warning")
        return redirect(url_for(upload_endpoint))
    return pending


def discard(token: str) -> None:
    if _TOKEN.fullmatch(token):
        for path in _paths(token):
            path.unlink(missing_ok=True)


def purge_expired(now: float | None = None) -> None:
    """Remove the uploads nobody confirmed or cancelled within MAX_AGE_SECONDS."""
    purge_older_than(directory(), MAX_AGE_SECONDS, now)


def purge_older_than(folder: Path, max_age_seconds: int, now: float | None = None) -> None:
    """Remove the files kept in the folder (.data and their .json) for longer than the age."""
    limit = (now if now is not None else time.time()) - max_age_seconds
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        try:
            if path.suffix in (".data", ".json") and path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except OSError:
            continue
