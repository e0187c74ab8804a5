"""The forms for logging a visit with its demands, and a demand on its own (demands.logging).

A demand's fields are a plain sub-form (DemandFields) used as the entries of the visit's FieldList
("demands-0-title", "demands-1-title", ...) and once in the form for a single demand
("demand-title"). Required fields and the choices are checked by demands.operations, whose
messages `show_field_errors` puts beside the fields by those names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from wtforms import (
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from servicedesk import attachments
from servicedesk.config import DEFAULTS
from servicedesk.demands import operations
from servicedesk.demands.operations import (
    DEMAND_TEXT_LIMITS,
    SOURCE_LABELS,
    STANDALONE_SOURCES,
    URGENCY_LABELS,
    VISIT_KIND_LABELS,
    VISIT_KINDS,
    NewDemand,
)
from servicedesk.extensions import db
from servicedesk.forms import strip_filter
from servicedesk.i18n import is_chinese
from servicedesk.models import Category, Company, Demand, User

#: the most demands one visit form takes
MAX_DEMANDS = 40
#: the choice "it is a different demand" of the duplicate check
NOT_A_DUPLICATE = "new"
#: how many files one submission of a form may carry (config.load_config sizes requests for them)
MAX_FILES_PER_SUBMISSION = DEFAULTS["UPLOAD_MAX_FILES"]


def _id_or_none(value: Any) -> int | None:
    """A chosen id; None for the empty choice or anything that is not a number."""
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


def _ids(values: Any) -> list[int]:
    return [i for i in (_id_or_none(v) for v in (values or ())) if i is not None]


class IdsField(SelectMultipleField):
    """Several ids; unknown or malformed ones are dropped here and refused by the operation."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = _ids(valuelist)

    def pre_validate(self, form: Any) -> None:
        pass


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _text(label: Any, limit: int, render_kw: dict[str, Any] | None = None, **kwargs: Any) -> StringField:
    return StringField(label, filters=[strip_filter], validators=[Optional(), Length(max=limit)],
                       render_kw={"maxlength": limit, **(render_kw or {})}, **kwargs)


class DemandFields(Form):
    """One demand as the officer enters it (no CSRF token of its own: it lives in a FlaskForm)."""

    company_id = SelectField(_l("Company"), coerce=_id_or_none, validate_choice=False)
    category_id = SelectField(_l("Category"), coerce=_id_or_none, validate_choice=False)
    title = _text(_l("Title"), DEMAND_TEXT_LIMITS["title"],
                  description=_l("A short title, e.g. 新建生产线用地指标."))
    description = TextAreaField(_l("Description"), filters=[strip_filter],
                                validators=[Optional(), Length(max=10_000)], render_kw={"rows": 3},
                                description=_l("The demand as the company put it."))
    urgency = SelectField(_l("Urgency"), default="normal", validate_choice=False,
                          choices=[SelectChoice(str(u), label) for u, label in URGENCY_LABELS.items()])
    contact_name = _text(_l("Company contact"), DEMAND_TEXT_LIMITS["contact_name"])
    contact_phone = _text(_l("Contact phone"), DEMAND_TEXT_LIMITS["contact_phone"],
                          render_kw={"autocomplete": "off", "inputmode": "tel"})
    #: the duplicate check's answer: NOT_A_DUPLICATE or the id of the open demand it repeats
    duplicate_of = RadioField(_l("Is it a demand already open?"), validate_choice=False, choices=[])

    def is_blank(self) -> bool:
        """Nothing typed and no category chosen: an entry left empty, not a demand."""
        return not any((self.title.data, self.description.data, self.contact_name.data,
                        self.contact_phone.data, self.category_id.data))

    def new_demand(self, source: str, duplicate_of_id: int | None = None) -> NewDemand:
        return NewDemand(
            company_id=self.company_id.data, category_id=self.category_id.data,
            title=self.title.data or "", description=self.description.data or "",
            urgency=self.urgency.data or "", contact_name=self.contact_name.data,
            contact_phone=self.contact_phone.data, source=source, duplicate_of_id=duplicate_of_id)

    def fill_choices(self, companies: list[tuple[int, str]], categories: list[tuple[int, str]]) -> None:
        self.company_id.choices = [("", _l("Choose the company…")), *companies]
        self.category_id.choices = [("", _l("Choose a category…")), *categories]


class AttachmentsMixin:
    """Files to attach, and the files already uploaded with an earlier showing of the form."""

    files = MultipleFileField(
        _l("Attach files"), render_kw={"accept": attachments.ACCEPT},
        description=_l("Photos (.jpg, .png), PDF, Word or Excel files; several at once."))
    kept_files = CheckboxListField(_l("Files attached so far"), validate_choice=False,
                                   description=_l("Untick a file to leave it out."))


class VisitForm(AttachmentsMixin, FlaskForm):
    kind = SelectField(_l("Kind"), default="visit", validate_choice=False,
                       choices=[SelectChoice(k, VISIT_KIND_LABELS[k]) for k in VISIT_KINDS])
    visited_on = DateField(_l("Date"), validators=[Optional()])
    place = _text(_l("Place"), 200, description=_l("Where it took place, e.g. the company's meeting room."))
    lead_official = _text(_l("Lead official"), 100, description=_l("Who led it, with their title."))
    officials = TextAreaField(_l("Officials taking part"), filters=[strip_filter],
                              validators=[Optional(), Length(max=5000)], render_kw={"rows": 2})
    company_attendees = TextAreaField(_l("Company attendees"), filters=[strip_filter],
                                      validators=[Optional(), Length(max=5000)], render_kw={"rows": 2})
    company_ids = IdsField(_l("Companies"), coerce=int, description=_l(
        "The companies visited or taking part; hold Ctrl (⌘ on a Mac) to choose several."))
    minutes = TextAreaField(_l("Minutes"), filters=[strip_filter],
                            validators=[Optional(), Length(max=100_000)], render_kw={"rows": 6})
    demands = FieldList(FormField(DemandFields), min_entries=1, max_entries=MAX_DEMANDS)
    #: "1" once the duplicate check has been shown
    checked = HiddenField()
    add_demand = SubmitField(_l("Add another demand"))
    save = SubmitField(_l("Save the visit and its demands"))

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name).data for name in
                ("kind", "visited_on", "place", "lead_official", "officials", "company_attendees",
                 "minutes")}

    def fill_choices(self, companies: list[tuple[int, str]], categories: list[tuple[int, str]]) -> None:
        """Company choices with the visit's own first, then the other registered companies."""
        self.company_ids.choices = companies
        chosen = set(self.company_ids.data or ())
        ordered = [c for c in companies if c[0] in chosen] + [c for c in companies if c[0] not in chosen]
        for entry in self.demands:
            entry.form.fill_choices(ordered, categories)

    def add_entry(self) -> bool:
        """One more empty demand (its company the visit's, when it has only one); False at the most."""
        if len(self.demands.entries) >= MAX_DEMANDS:
            return False
        chosen = self.company_ids.data or []
        self.demands.append_entry({"company_id": chosen[0] if len(chosen) == 1 else None,
                                   "urgency": "normal"})
        return True


class DemandForm(AttachmentsMixin, FlaskForm):
    """A demand logged on its own, from a source other than a visit."""

    source = SelectField(_l("Source"), default="hotline", validate_choice=False,
                         choices=[SelectChoice(s, SOURCE_LABELS[s]) for s in STANDALONE_SOURCES])
    demand = FormField(DemandFields)
    checked = HiddenField()
    save = SubmitField(_l("Log the demand"))

    def fill_choices(self, companies: list[tuple[int, str]], categories: list[tuple[int, str]]) -> None:
        self.demand.form.fill_choices(companies, categories)


def all_fields(form: Form | FlaskForm) -> Iterator[Field]:
    """Every field of the form, the sub-forms' and list entries' included, by their full names."""
    for field in form:
        if isinstance(field, FormField):
            yield from all_fields(field.form)
        elif isinstance(field, FieldList):
            for entry in field:
                if isinstance(entry, FormField):
                    yield from all_fields(entry.form)
                else:
                    yield entry
        else:
            yield field


def show_field_errors(form: FlaskForm, field_errors: dict[str, str], prefix: str = "") -> None:
    """Roll the attempt back and put each message beside its field, named as in the request
    ("demands-1-title"), or with a prefix ("demand-" + "title"); flashed if it has no field."""
    db.session.rollback()
    fields = {field.name: field for field in all_fields(form)}
    for name, message in field_errors.items():
        field = fields.get(f"{prefix}{name}") or fields.get(name) if name else None
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "danger")


def duplicate_choices(demand_ids: Iterable[int]) -> list[tuple[str, str]]:
    return [(NOT_A_DUPLICATE, str(_l("It is a different demand: log it"))),
            *((str(i), str(i)) for i in demand_ids)]


# Choices

def company_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(select(Company.id, Company.name).order_by(Company.name))
    return [(i, name) for i, name in rows]


def category_choices() -> list[tuple[int, str]]:
    chinese = is_chinese()
    rows = db.session.execute(select(Category.id, Category.name, Category.name_en)
                              .where(Category.active.is_(True)).order_by(Category.position, Category.id))
    return [(i, name if chinese else name_en) for i, name, name_en in rows]


# The files and the duplicate check of a submission

@dataclass
class Files:
    """The files of one submission: those kept from earlier showings and the new ones."""

    kept: list[attachments.PendingAttachment] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)


def take_files(form: VisitForm | DemandForm, user: User) -> Files:
    """Keep each new file that is acceptable, note why the others are not, and list all kept
    files (ticked) in the form."""
    files = Files()
    for token in form.kept_files.data or ():
        kept = attachments.pending(token, user)
        if kept is not None and kept not in files.kept:
            files.kept.append(kept)
    uploads = [f for f in (form.files.data or ()) if isinstance(f, FileStorage) and f.filename]
    for upload in uploads[:MAX_FILES_PER_SUBMISSION]:
        try:
            files.kept.append(attachments.keep(upload, user))
        except attachments.AttachmentRefused as refused:
            files.refused.append(str(refused))
    if len(uploads) > MAX_FILES_PER_SUBMISSION:
        files.refused.append(_("Attach at most %(num)d files at a time; add the others afterwards.",
                               num=MAX_FILES_PER_SUBMISSION))
    form.kept_files.choices = [
        (k.token, f"{k.original_name} ({attachments.human_size(k.size)})") for k in files.kept]
    form.kept_files.data = [k.token for k in files.kept]
    return files


def show_refused_files(form: VisitForm | DemandForm, files: Files) -> None:
    if files.refused:
        form.files.errors = [*form.files.errors, *files.refused]


@dataclass
class DuplicateCheck:
    """Open demands that look like the new ones, by the entry's index, and whether the officer
    still has to say for some entry whether it repeats one of them."""

    found: dict[int, list[Demand]] = dataclasses.field(default_factory=dict)
    undecided: list[int] = dataclasses.field(default_factory=list)
    #: the open demand each entry repeats, by index, as the officer chose
    chosen: dict[int, int | None] = dataclasses.field(default_factory=dict)


def check_duplicates(entries: list[tuple[int, DemandFields]], already_shown: bool) -> DuplicateCheck:
    """Look for open demands like each entry; put the choice on each entry that has some."""
    check = DuplicateCheck()
    for index, entry in entries:
        entry.duplicate_of.choices = []
        if not (entry.company_id.data and entry.category_id.data and entry.title.data):
            continue
        similar = operations.similar_open_demands(entry.company_id.data, entry.category_id.data,
                                                  entry.title.data)
        if not similar:
            check.chosen[index] = None
            continue
        check.found[index] = similar
        entry.duplicate_of.choices = duplicate_choices(d.id for d in similar)
        answer = entry.duplicate_of.data
        if answer == NOT_A_DUPLICATE:
            check.chosen[index] = None
        elif answer and answer.isdigit() and int(answer) in {d.id for d in similar}:
            check.chosen[index] = int(answer)
        else:
            entry.duplicate_of.data = None
            check.undecided.append(index)
            if already_shown:
                entry.duplicate_of.errors = [*entry.duplicate_of.errors, _(
                    "Say whether this is the same demand as an open one, or a different demand.")]
    return check

