"""Writes of master data: importing the physical network and the product range from a file."""
import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import InvalidInput

from .models import Depot, PickupPoint, Product, Warehouse

# --- the report and the errors -------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem with a network file; field is None when the problem is the whole row or file."""

    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}, {self.field}" if self.field else f"line {self.line}"
        return f"{where}: {self.reason}"


class NetworkFileInvalid(InvalidInput):
    """A network file with problems; it carries every one of them, and nothing was imported."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"the file has {len(errors)} error(s); nothing was imported")
        self.errors = errors


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class NetworkImport:
    """What an import did, per kind of row, in the order the kinds are written."""

    counts: dict[str, KindCounts] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkRow:
    """One record of a network file: the line it starts on and its values by column name.

    problem is set when the record could not be read as a row at all (say, a JSON array element
    that is not an object); such a row is reported and not validated further.
    """

    line: int
    values: dict[str, object]
    problem: str | None = None


# --- one form per kind of row ----------------------------------------------------------------------


class YesNoField(forms.Field):
    """A flag: true/false, yes/no or 1/0 in any case, or a JSON boolean.

    forms.BooleanField reads any other text, "no" included, as true; a file must not do that silently.
    """

    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}

    def to_python(self, value):
        if isinstance(value, bool):
            return value
        flag = self.words.get(str(value).strip().lower())
        if flag is None:
            raise ValidationError("Enter true or false.", code="invalid")
        return flag


class NetworkRowForm(forms.ModelForm):
    """Validates one row against its model. Rows name the rows they refer to by code."""

    key = "code"
    # Form field → kind of row it names by code. These fields are not in Meta.fields, so the form
    # leaves them off the instance and the import sets the related objects once they are saved.
    references: dict[str, str] = {}

    def __init__(self, data, *, instance, known_codes: dict[str, set[str]]):
        super().__init__(data, instance=instance)
        self.known_codes = known_codes
        if instance is not None:
            # So that has_changed() sees a reference to the same row as unchanged.
            for name in self.references:
                related = getattr(instance, name)
                self.initial[name] = related.code if related else None

    def clean(self):
        cleaned = super().clean()
        for name, kind in self.references.items():
            code = cleaned.get(name)
            if code and code not in self.known_codes[kind]:
                self.add_error(name, f"no {kind} with code {code} in this file or the database")
        return cleaned


class SiteRowForm(NetworkRowForm):
    # The models enforce these ranges with check constraints; as form fields the error names the field.
    latitude = forms.FloatField(min_value=-90, max_value=90)
    longitude = forms.FloatField(min_value=-180, max_value=180)


class WarehouseRowForm(SiteRowForm):
    class Meta:
        model = Warehouse
        fields = ["code", "name", "latitude", "longitude", "address"]


class DepotRowForm(SiteRowForm):
    references = {"warehouse": "warehouse"}
    warehouse = Warehouse._meta.get_field("code").formfield(required=False)

    class Meta:
        model = Depot
        fields = ["code", "name", "latitude", "longitude", "address"]


class PickupPointRowForm(SiteRowForm):
    references = {"depot": "depot"}
    depot = Depot._meta.get_field("code").formfield()
    is_active = YesNoField()

    class Meta:
        model = PickupPoint
        fields = ["code", "name", "latitude", "longitude", "address", "opens_at", "closes_at", "is_active"]

    def clean(self):
        cleaned = super().clean()
        opens_at, closes_at = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens_at is not None and closes_at is not None and opens_at >= closes_at:
            self.add_error("closes_at", f"must be later than opens_at ({opens_at:%H:%M})")
        return cleaned


class ProductRowForm(NetworkRowForm):
    key = "sku"
    # The model allows zero; a product without weight, volume or shelf life is a mistake in the file.
    weight_g = forms.IntegerField(min_value=1)
    volume_ml = forms.IntegerField(min_value=1)
    shelf_life_days = forms.IntegerField(min_value=1)
    is_active = YesNoField()

    class Meta:
        model = Product
        fields = [
            "sku", "name", "category", "unit", "weight_g", "volume_ml", "storage_temperature", "shelf_life_days",
            "is_active",
        ]


# In write order: a row is written after the rows it may refer to.
ROW_FORMS: dict[str, type[NetworkRowForm]] = {
    "warehouse": WarehouseRowForm,
    "depot": DepotRowForm,
    "pickup_point": PickupPointRowForm,
    "product": ProductRowForm,
}
REFERENCED_KINDS = sorted({kind for form in ROW_FORMS.values() for kind in form.references.values()})


# --- importing -------------------------------------------------------------------------------------


def load_network(path: str | Path) -> NetworkImport:
    """Import a .csv, .json or .jsonl network file; see import_network."""
    return import_network(read_network_file(path))


def import_network(rows: list[NetworkRow]) -> NetworkImport:
    """Create or update every row by its code (sku for products), all or nothing.

    Every row is validated before anything is written; if any is bad, NetworkFileInvalid lists
    all the problems by line. Rows that match the database already are left alone, so importing
    the same file again changes nothing.
    """
    with transaction.atomic():
        return _save(_validated_forms(rows))


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _kind_of(row: NetworkRow) -> str:
    kind = row.values.get("kind")
    return "" if _blank(kind) else str(kind).strip()


def _key_of(row: NetworkRow, kind: str) -> str | None:
    key = row.values.get(ROW_FORMS[kind].key)
    return None if _blank(key) else str(key).strip()


def _misplaced_cells(row: NetworkRow, kind: str) -> list[RowError]:
    """Filled cells that the kind has no field for (a shifted CSV column, a misspelt JSON key)."""
    fields = ROW_FORMS[kind].base_fields
    errors = []
    for name, value in row.values.items():
        if name == "kind" or _blank(value):
            continue
        if name not in fields:
            errors.append(RowError(row.line, name, f"does not apply to a {kind}"))
        elif isinstance(value, (dict, list)):
            errors.append(RowError(row.line, name, "expected a single value, not a list or an object"))
    return errors


def _form_data(form_class: type[NetworkRowForm], values: dict[str, object]) -> dict[str, object]:
    """The row's filled cells over the model's defaults: a row describes the whole record."""
    data = {
        f.name: f.get_default()
        for f in form_class._meta.model._meta.concrete_fields
        if f.has_default() and f.name in form_class.base_fields
    }
    data.update({name: value for name, value in values.items() if not _blank(value)})
    return data


def _rows_by_kind(
    rows: list[NetworkRow], errors: list[RowError]
) -> tuple[list[tuple[NetworkRow, str]], dict[str, dict[str, int]]]:
    """Each row with its kind, and per kind the line each code first appears on.

    Adds unreadable rows, unknown kinds and repeated codes to errors.
    """
    typed_rows = []
    first_line_of: dict[str, dict[str, int]] = {kind: {} for kind in ROW_FORMS}
    for row in rows:
        if row.problem:
            errors.append(RowError(row.line, None, row.problem))
            continue
        kind = _kind_of(row)
        if kind not in ROW_FORMS:
            reason = f"unknown kind {kind!r}" if kind else "required"
            errors.append(RowError(row.line, "kind", f"{reason}; expected one of {', '.join(ROW_FORMS)}"))
            continue
        typed_rows.append((row, kind))
        key = _key_of(row, kind)
        if key is None:
            continue  # the form reports it as required
        if key in first_line_of[kind]:
            reason = f"{key} is already on line {first_line_of[kind][key]}"
            errors.append(RowError(row.line, ROW_FORMS[kind].key, reason))
        else:
            first_line_of[kind][key] = row.line
    return typed_rows, first_line_of


def _validated_forms(rows: list[NetworkRow]) -> dict[str, list[NetworkRowForm]]:
    errors: list[RowError] = []
    typed_rows, first_line_of = _rows_by_kind(rows, errors)
    # A reference may name a row further down the file, so every code in the file counts.
    known_codes = {
        kind: set(first_line_of[kind]) | set(ROW_FORMS[kind]._meta.model.objects.values_list("code", flat=True))
        for kind in REFERENCED_KINDS
    }
    existing = {
        kind: form_class._meta.model.objects.select_related(*form_class.references).in_bulk(
            list(first_line_of[kind]), field_name=form_class.key
        )
        for kind, form_class in ROW_FORMS.items()
    }
    valid: dict[str, list[NetworkRowForm]] = {kind: [] for kind in ROW_FORMS}
    for row, kind in typed_rows:
        form_class = ROW_FORMS[kind]
        errors.extend(_misplaced_cells(row, kind))
        form = form_class(
            _form_data(form_class, row.values),
            instance=existing[kind].get(_key_of(row, kind)),
            known_codes=known_codes,
        )
        if form.is_valid():
            valid[kind].append(form)
        for name, messages in form.errors.items():
            field_name = None if name == NON_FIELD_ERRORS else name
            errors.extend(RowError(row.line, field_name, message) for message in messages)
    if errors:
        raise NetworkFileInvalid(sorted(errors, key=lambda error: error.line))
    return valid


def _save(forms_by_kind: dict[str, list[NetworkRowForm]]) -> NetworkImport:
    by_code = {
        kind: ROW_FORMS[kind]._meta.model.objects.in_bulk(field_name="code") for kind in REFERENCED_KINDS
    }
    report = NetworkImport()
    for kind, kind_forms in forms_by_kind.items():
        counts = report.counts[kind] = KindCounts()
        for form in kind_forms:
            record = form.instance
            for name, referenced_kind in form.references.items():
                code = form.cleaned_data[name]
                setattr(record, name, by_code[referenced_kind][code] if code else None)
            if record.pk is None:
                counts.created += 1
            elif form.has_changed():
                counts.updated += 1
            else:
                counts.unchanged += 1
                continue
            record.save()
            if kind in by_code:
                by_code[kind][record.code] = record
    return report


# --- reading files -----------------------------------------------------------------------------------


def read_network_file(path: str | Path) -> list[NetworkRow]:
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InvalidInput(
            _("%(name)s: expected a .csv, .json or .jsonl file") % {"name": path.name}, field="path", code="unsupported_file_type"
        )
    try:
        # utf-8-sig: spreadsheets often save CSV with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InvalidInput(
            _("cannot read %(path)s: %(error)s") % {"path": path, "error": error.strerror}, field="path", code="unreadable_file"
        ) from error
    except UnicodeDecodeError as error:
        raise InvalidInput(
            _("%(name)s is not UTF-8 text") % {"name": path.name}, field="path", code="not_utf8"
        ) from error
    return reader(text)


def _csv_rows(text: str) -> list[NetworkRow]:
    """A header row naming the columns, a kind column among them; cells that do not apply stay empty."""
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    if "kind" not in header:
        raise NetworkFileInvalid([RowError(1, None, "the header row needs a kind column")])
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise NetworkFileInvalid([RowError(1, None, f"columns appear more than once: {', '.join(repeated)}")])
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        # line_num is where the record ends; a quoted cell may span several lines.
        line = reader.line_num - sum(cell.count("\n") for cell in cells)
        if len(cells) > len(header):
            rows.append(NetworkRow(line, {}, f"{len(cells)} cells but the header has {len(header)} columns"))
        else:
            rows.append(NetworkRow(line, dict(zip(header, cells))))
    return rows


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _json_rows(text: str) -> list[NetworkRow]:
    """A top-level array of objects, decoded one element at a time to know the line each one starts on."""
    decoder = json.JSONDecoder()

    def skip_whitespace(offset: int) -> int:
        return _WHITESPACE.match(text, offset).end()

    def malformed(offset: int, reason: str) -> NetworkFileInvalid:
        return NetworkFileInvalid([RowError(text.count("\n", 0, offset) + 1, None, reason)])

    offset = skip_whitespace(0)
    if not text.startswith("[", offset):
        raise malformed(offset, "a JSON network file is an array of objects")
    offset = skip_whitespace(offset + 1)
    rows = []
    line, counted_to = 1, 0
    while not text.startswith("]", offset):
        try:
            value, end = decoder.raw_decode(text, offset)
        except json.JSONDecodeError as error:
            raise malformed(error.pos, f"not valid JSON: {error.msg}") from error
        line += text.count("\n", counted_to, offset)
        counted_to = offset
        rows.append(_object_row(line, value))
        offset = skip_whitespace(end)
        if text.startswith(",", offset):
            offset = skip_whitespace(offset + 1)
        elif not text.startswith("]", offset):
            raise malformed(offset, "not valid JSON: expected ',' or ']' after an element")
    if skip_whitespace(offset + 1) != len(text):
        raise malformed(skip_whitespace(offset + 1), "not valid JSON: extra data after the array")
    return rows


def _jsonl_rows(text: str) -> list[NetworkRow]:
    """One object per line; a line that is not JSON is reported like any other bad row."""
    rows = []
    for line, content in enumerate(text.split("\n"), start=1):
        if not content.strip():
            continue
        try:
            rows.append(_object_row(line, json.loads(content)))
        except json.JSONDecodeError as error:
            rows.append(NetworkRow(line, {}, f"not valid JSON: {error.msg}"))
    return rows


def _object_row(line: int, value: object) -> NetworkRow:
    if not isinstance(value, dict):
        return NetworkRow(line, {}, "expected an object with a kind field")
    return NetworkRow(line, value)


_READERS = {".csv": _csv_rows, ".json": _json_rows, ".jsonl": _jsonl_rows}
