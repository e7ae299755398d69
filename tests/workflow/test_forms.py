"""Step forms built from camunda:formData, the form-key registry, upload checks, safe names.

Elements come from parsing small BPMN snippets, as the engine gets them. No database."""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict

from tests.shared_files import shared_path
from tests.workflow.engine_helpers import chain, definitions, process
from workflow.bpmn.model import Element
from workflow.bpmn.parser import parse_bpmn
from workflow.forms import (
    MAX_FILENAME_LENGTH,
    AttachmentForm,
    CommentForm,
    ReasonForm,
    attachment_content_type,
    form_for,
    has_step_form,
    register_form,
    safe_filename,
    step_fields,
    task_form_class,
    unregister_form,
    validate_step_data,
    validate_upload,
)


def form_field(
    field_id: str,
    field_type: str = "string",
    *,
    label: str | None = None,
    default: str | None = None,
    constraints: dict[str, str | None] | None = None,
    values: tuple[tuple[str, str], ...] = (),
) -> str:
    """One ``camunda:formField`` in XML."""
    attributes = f'id="{field_id}" type="{field_type}"'
    if label is not None:
        attributes += f' label="{label}"'
    if default is not None:
        attributes += f' defaultValue="{default}"'
    inner = "".join(f'<camunda:value id="{v}" name="{n}"/>' for v, n in values)
    if constraints:
        inner += "<camunda:validation>"
        for name, config in constraints.items():
            config_attribute = "" if config is None else f' config="{config}"'
            inner += f'<camunda:constraint name="{name}"{config_attribute}/>'
        inner += "</camunda:validation>"
    return f"<camunda:formField {attributes}>{inner}</camunda:formField>"


def step(*fields: str, form_key: str | None = None) -> Element:
    """The user task ``Step`` of a parsed one-step process, with these form fields."""
    key = f' camunda:formKey="{form_key}"' if form_key else ""
    extension = (
        f"<extensionElements><camunda:formData>{''.join(fields)}</camunda:formData>"
        "</extensionElements>"
        if fields
        else ""
    )
    body = (
        f'<startEvent id="s"/><userTask id="Step" name="Step"{key}>{extension}</userTask>'
        f'<endEvent id="e"/>{chain("s", "Step", "e")}'
    )
    return parse_bpmn(definitions(process("p", body))).processes["p"].elements["Step"]


def codes(error: ValidationError) -> dict[str, list[str | None]]:
    return {name: [e.code for e in errors] for name, errors in error.error_dict.items()}


def refused(element: Element, data: dict[str, Any], **variables: Any) -> dict[str, list[Any]]:
    with pytest.raises(ValidationError) as caught:
        validate_step_data(element, variables=variables, data=data)
    return codes(caught.value)


def stored(element: Element, data: dict[str, Any], **variables: Any) -> dict[str, Any]:
    return validate_step_data(element, variables=variables, data=data)


# --- types -----------------------------------------------------------------------------------


def test_string_field_label_and_required() -> None:
    element = step(
        form_field("title", label="Title", constraints={"required": None}),
        form_field("note"),
    )
    form_class = task_form_class(element)
    title, note = form_class.base_fields["title"], form_class.base_fields["note"]
    assert isinstance(title, forms.CharField) and isinstance(note, forms.CharField)
    assert (title.label, title.required) == ("Title", True)
    assert (note.label, note.required) == ("note", False)  # no label: the id
    assert refused(element, {"title": "  "}) == {"title": ["required"]}
    assert stored(element, {"title": " Lease "}) == {"title": "Lease", "note": ""}


def test_long_field() -> None:
    element = step(
        form_field("amount", "long", constraints={"required": None, "min": "1", "max": "5000"}),
        form_field("count", "long"),
    )
    assert isinstance(task_form_class(element).base_fields["amount"], forms.IntegerField)
    assert stored(element, {"amount": "42"}) == {"amount": 42, "count": None}
    assert stored(element, {"amount": 5000, "count": -3}) == {"amount": 5000, "count": -3}
    assert refused(element, {"amount": "0"}) == {"amount": ["min_value"]}
    assert refused(element, {"amount": "5001"}) == {"amount": ["max_value"]}
    assert refused(element, {"amount": "4.5"}) == {"amount": ["invalid"]}
    assert refused(element, {"amount": "ten"}) == {"amount": ["invalid"]}
    assert refused(element, {"amount": "1", "count": str(2**63)}) == {"count": ["max_value"]}
    html = str(form_for(element, variables={})["amount"])
    assert 'min="1"' in html and 'max="5000"' in html


@pytest.mark.parametrize("field_type", ["double", "decimal"])
def test_decimal_fields_are_stored_as_floats(field_type: str) -> None:
    element = step(form_field("rate", field_type, constraints={"max": "1.5"}))
    assert isinstance(task_form_class(element).base_fields["rate"], forms.DecimalField)
    result = stored(element, {"rate": "0.25"})
    assert result == {"rate": 0.25} and isinstance(result["rate"], float)
    assert stored(element, {"rate": ""}) == {"rate": None}
    assert refused(element, {"rate": "1.6"}) == {"rate": ["max_value"]}
    assert refused(element, {"rate": "NaN"}) == {"rate": ["invalid"]}


def test_boolean_field_is_required_only_to_be_ticked() -> None:
    element = step(
        form_field("agree", "boolean", constraints={"required": None}),
        form_field("urgent", "boolean"),
    )
    form = form_for(element, variables={})
    assert isinstance(form.fields["urgent"], forms.BooleanField)
    assert "required" not in str(form["urgent"])
    assert "required" in str(form["agree"])
    assert stored(element, {"agree": "on"}) == {"agree": True, "urgent": False}
    assert stored(element, {"agree": True, "urgent": "true"}) == {"agree": True, "urgent": True}
    assert stored(element, {"agree": "true", "urgent": "false"}) == {
        "agree": True,
        "urgent": False,
    }
    assert refused(element, {}) == {"agree": ["required"]}
    assert refused(element, {"agree": "false"}) == {"agree": ["required"]}


def test_date_field_accepts_iso_and_camunda_dates() -> None:
    element = step(
        form_field("start", "date", constraints={"min": "2024-01-01", "max": "2024-12-31"}),
    )
    form = form_for(element, variables={})
    assert isinstance(form.fields["start"], forms.DateField)
    html = str(form["start"])
    assert 'type="date"' in html and 'min="2024-01-01"' in html and 'max="2024-12-31"' in html
    assert stored(element, {"start": "2024-05-31"}) == {"start": "2024-05-31"}
    assert stored(element, {"start": "31/05/2024"}) == {"start": "2024-05-31"}
    assert stored(element, {"start": ""}) == {"start": None}
    assert refused(element, {"start": "2024-13-01"}) == {"start": ["invalid"]}
    assert refused(element, {"start": "2023-12-31"}) == {"start": ["min_value"]}
    assert refused(element, {"start": "2025-01-01"}) == {"start": ["max_value"]}
    # shown in the widget's format whatever the variable holds
    bound_later = form_for(element, variables={"start": datetime.date(2024, 3, 9)})
    assert 'value="2024-03-09"' in str(bound_later["start"])


def test_enum_field_labels_and_unknown_value() -> None:
    values = (("EUR", "Euro"), ("USD", "US dollar"))
    element = step(
        form_field("currency", "enum", constraints={"required": None}, values=values),
        form_field("region", "enum", values=(("east", "East"), ("west", "West"))),
    )
    field = task_form_class(element).base_fields["currency"]
    assert isinstance(field, forms.ChoiceField)
    # django-stubs types the getter like the setter's input (a callable, a mapping...);
    # Django normalizes it to a list
    assert list(field.choices)[1:] == [("EUR", "Euro"), ("USD", "US dollar")]  # type: ignore[arg-type]
    assert stored(element, {"currency": "USD"}) == {"currency": "USD", "region": None}
    assert refused(element, {"currency": "JPY"}) == {"currency": ["invalid_choice"]}
    assert refused(element, {"currency": "Euro"}) == {"currency": ["invalid_choice"]}
    assert refused(element, {"region": "east"}) == {"currency": ["required"]}


def test_custom_type_is_text() -> None:
    element = step(form_field("colour", "colorPicker", constraints={"maxlength": "7"}))
    field = task_form_class(element).base_fields["colour"]
    assert isinstance(field, forms.CharField)
    assert stored(element, {"colour": "#ff0000"}) == {"colour": "#ff0000"}
    assert refused(element, {"colour": "#ff00000"}) == {"colour": ["max_length"]}


def test_json_input_of_the_wrong_shape_is_refused_not_guessed() -> None:
    element = step(
        form_field("ok", "boolean"),
        form_field("title"),
        form_field("amount", "long"),
        form_field("due", "date"),
    )
    assert stored(element, {"ok": 0})["ok"] is False
    assert stored(element, {"ok": "0"})["ok"] is False
    assert stored(element, {"ok": 1})["ok"] is True
    assert refused(element, {"ok": "no"}) == {"ok": ["invalid"]}
    assert refused(element, {"ok": 2}) == {"ok": ["invalid"]}
    assert refused(element, {"ok": [True]}) == {"ok": ["invalid"]}
    assert refused(element, {"title": ["a", "b"], "amount": [1], "due": 20240101}) == {
        "title": ["invalid"],
        "amount": ["invalid"],
        "due": ["invalid"],
    }
    assert refused(element, {"title": {"a": 1}}) == {"title": ["invalid"]}


# --- constraints -----------------------------------------------------------------------------


def test_minlength_and_maxlength() -> None:
    element = step(form_field("code", constraints={"minlength": "2", "maxlength": "4"}))
    assert 'maxlength="4"' in str(form_for(element, variables={})["code"])
    assert stored(element, {"code": "ab"}) == {"code": "ab"}
    assert refused(element, {"code": "a"}) == {"code": ["min_length"]}
    assert refused(element, {"code": "abcde"}) == {"code": ["max_length"]}


def test_pattern_must_match_the_whole_value() -> None:
    element = step(form_field("login", constraints={"pattern": "[a-z]+"}))
    assert 'pattern="[a-z]+"' in str(form_for(element, variables={})["login"])
    assert stored(element, {"login": "zhangwei"}) == {"login": "zhangwei"}
    assert refused(element, {"login": "zhangwei1"}) == {"login": ["invalid"]}
    assert refused(element, {"login": "1zhangwei"}) == {"login": ["invalid"]}


@pytest.mark.parametrize(
    ("field_type", "constraint", "config", "value"),
    [
        ("long", "min", "one", "5"),
        ("date", "max", "tomorrow", "2024-01-01"),
        ("string", "maxlength", "ten", "x"),
        ("string", "pattern", "[a-", "x"),
    ],
)
def test_unreadable_constraint_refuses_input(
    field_type: str, constraint: str, config: str, value: str
) -> None:
    element = step(form_field("f", field_type, constraints={constraint: config}))
    assert refused(element, {"f": value}) == {"f": ["invalid_definition"]}


def test_unknown_constraint_is_ignored() -> None:
    element = step(form_field("f", constraints={"validator": "com.acme.Check"}))
    assert stored(element, {"f": "x"}) == {"f": "x"}


# --- initial values ----------------------------------------------------------------------------


def test_literal_defaults_are_typed() -> None:
    element = step(
        form_field("retention", "long", default="10"),
        form_field("approved", "boolean", default="true"),
        form_field("notify", "boolean", default="false"),
        form_field("currency", "enum", default="EUR", values=(("EUR", "Euro"),)),
        form_field("due", "date", default="2024-06-30"),
        form_field("note", default="n/a"),
    )
    form = form_for(element, variables={})
    assert not form.is_bound
    assert form.initial == {
        "retention": 10,
        "approved": True,
        "notify": False,
        "currency": "EUR",
        "due": datetime.date(2024, 6, 30),
        "note": "n/a",
    }
    assert "checked" in str(form["approved"]) and "checked" not in str(form["notify"])


def test_expression_defaults() -> None:
    element = step(
        form_field("double", "long", default="${amount * 2}"),
        form_field("who", default="${initiator}"),
        form_field("missing", default="${nobody}"),
        form_field("broken", default="${(}"),
    )
    form = form_for(element, variables={"amount": 21, "initiator": "zhangwei"})
    assert form.initial == {"double": 42, "who": "zhangwei"}


def test_variable_wins_over_default() -> None:
    element = step(
        form_field("retention", "long", default="10"),
        form_field("flag", "boolean", default="true"),
        form_field("empty", "long", default="7"),
    )
    form = form_for(element, variables={"retention": 3, "flag": False, "empty": None})
    assert form.initial == {"retention": 3, "flag": False, "empty": 7}


def test_readonly_field_shows_its_value_and_cannot_be_changed() -> None:
    element = step(
        form_field("amount", "long", constraints={"readonly": None, "required": None}),
        form_field("comment"),
    )
    form = form_for(element, variables={"amount": 120})
    assert form.fields["amount"].disabled and "disabled" in str(form["amount"])
    assert 'value="120"' in str(form["amount"])
    result = stored(element, {"amount": "999999", "comment": "ok"}, amount=120)
    assert result == {"comment": "ok"}
    # a read-only field without a value (or with an odd one) does not block the step
    assert stored(element, {"comment": "ok"}) == {"comment": "ok"}
    assert stored(element, {"comment": "ok"}, amount="lots") == {"comment": "ok"}


# --- validate_step_data -------------------------------------------------------------------------


def test_validate_step_data_raises_field_errors_in_english() -> None:
    element = step(
        form_field("title", constraints={"required": None}),
        form_field("amount", "long", constraints={"min": "1"}),
    )
    with pytest.raises(ValidationError) as caught:
        validate_step_data(element, variables={}, data={"amount": "0"})
    assert caught.value.message_dict == {
        "title": ["This field is required."],
        "amount": ["Ensure this value is greater than or equal to 1."],
    }


def test_validate_step_data_returns_only_declared_fields_json_safe() -> None:
    element = step(
        form_field("amount", "long"),
        form_field("rate", "double"),
        form_field("due", "date"),
        form_field("ok", "boolean"),
    )
    data = {"amount": "7", "rate": "1.25", "due": "2024-02-29", "ok": "on"}
    result = stored(element, data)
    assert result == {"amount": 7, "rate": 1.25, "due": "2024-02-29", "ok": True}
    assert json.loads(json.dumps(result)) == result


def test_a_key_that_is_not_a_field_is_refused_and_nothing_is_set() -> None:
    """The one gate for every caller: a variable the form did not declare (``initiator``,
    which participant rules read; ``amount`` at a step that does not ask for it) is a field
    error, not silently stored or silently dropped."""
    element = step(form_field("amount", "long"))
    assert refused(element, {"amount": "7", "initiator": "nobody", "manager": "x"}) == {
        "initiator": ["unknown"],
        "manager": ["unknown"],
    }


def test_html_post_data() -> None:
    element = step(
        form_field("agree", "boolean"),
        form_field("notify", "boolean"),
        form_field("amount", "long"),
    )
    post = QueryDict("csrfmiddlewaretoken=t&agree=on&amount=12")
    assert stored(element, step_fields(element, post)) == {
        "agree": True,
        "notify": False,
        "amount": 12,
    }
    assert refused(element, post) == {"csrfmiddlewaretoken": ["unknown"]}


def test_step_without_form_takes_no_values() -> None:
    for element in (step(), step(form_key="embedded:app:forms/finance-review.html")):
        assert not has_step_form(element)
        assert stored(element, {}) == {}
        assert refused(element, {"anything": [1, 2], "approved": True}) == {
            "anything": ["unknown"],
            "approved": ["unknown"],
        }
        assert list(form_for(element, variables={}).fields) == []


def test_shared_expense_form() -> None:
    definitions = parse_bpmn(shared_path("bpmn", "expense_approval.bpmn").read_bytes())
    (process,) = definitions.processes.values()
    fill = next(e for e in process.elements.values() if "amount" in {f.id for f in e.form_fields})
    data = {"amount": "250", "currency": "USD", "description": "Taxi", "expense_date": ""}
    assert stored(fill, data) == {
        "amount": 250,
        "currency": "USD",
        "description": "Taxi",
        "expense_date": None,
    }
    assert refused(fill, {**data, "amount": "0", "description": "x" * 501}) == {
        "amount": ["min_value"],
        "description": ["max_length"],
    }
    assert form_for(fill, variables={}).initial["currency"] == "EUR"


# --- form keys -------------------------------------------------------------------------------


class CostCenterForm(forms.Form):
    cost_center = forms.ChoiceField(choices=[("CC-1", "Sales"), ("CC-2", "Finance")])
    amount = forms.DecimalField(disabled=True, required=False)
    checked_on = forms.DateField(required=False)


@pytest.fixture
def cost_center_form() -> Iterator[str]:
    register_form("test.cost-center", CostCenterForm)
    yield "test.cost-center"
    unregister_form("test.cost-center")


def test_registered_form_key_wins_over_form_data(cost_center_form: str) -> None:
    element = step(form_field("ignored", constraints={"required": None}), form_key=cost_center_form)
    assert task_form_class(element) is CostCenterForm and has_step_form(element)
    form = form_for(element, variables={"cost_center": "CC-2", "amount": 80, "other": 1})
    assert isinstance(form, CostCenterForm)
    assert form.initial == {"cost_center": "CC-2", "amount": 80}
    data = {"cost_center": "CC-1", "amount": "1", "checked_on": "2024-05-02"}
    assert stored(element, data, amount=80) == {"cost_center": "CC-1", "checked_on": "2024-05-02"}
    assert refused(element, {**data, "ignored": "x"}) == {"ignored": ["unknown"]}
    assert refused(element, {"cost_center": "CC-9"}) == {"cost_center": ["invalid_choice"]}


def test_registered_form_key_without_form_data(cost_center_form: str) -> None:
    element = step(form_key=cost_center_form)
    assert has_step_form(element)
    assert refused(element, {}) == {"cost_center": ["required"]}
    assert refused(element, {"anything": 1}) == {"anything": ["unknown"]}


def test_unregistered_form_key_falls_back_to_form_data() -> None:
    element = step(form_field("title", constraints={"required": None}), form_key="app:x.jsf")
    assert list(task_form_class(element).base_fields) == ["title"]
    assert refused(element, {}) == {"title": ["required"]}


def test_register_form_refuses_a_taken_key_and_a_non_form(cost_center_form: str) -> None:
    with pytest.raises(ValueError, match="registered already"):
        register_form(cost_center_form, CostCenterForm)
    with pytest.raises(TypeError):
        register_form("test.not-a-form", dict)  # type: ignore[arg-type]  # deliberately no form


def test_form_class_is_built_once_per_element() -> None:
    element = step(form_field("title"))
    assert task_form_class(element) is task_form_class(element)
    # instances do not share their fields
    first, second = form_for(element, variables={}), form_for(element, variables={})
    first.fields["title"].label = "changed"
    assert second.fields["title"].label == "title"


# --- uploads -----------------------------------------------------------------------------------

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64


def zip_bytes(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def upload_error(name: str, content: bytes) -> str | None:
    with pytest.raises(ValidationError) as caught:
        validate_upload(upload(name, content))
    return caught.value.code


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("报告.pdf", PDF),
        ("scan.PNG", PNG),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 16),
        ("anim.gif", b"GIF89a" + b"\x00" * 16),
        ("pic.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 16),
        ("contract.docx", zip_bytes("[Content_Types].xml", "word/document.xml")),
        ("budget.xlsx", zip_bytes("[Content_Types].xml", "xl/workbook.xml")),
        ("slides.pptx", zip_bytes("[Content_Types].xml", "ppt/presentation.xml")),
        ("old.doc", OLE),
        ("old.xls", OLE),
        ("notes.txt", "会议纪要\r\n\tline two\n".encode()),
        ("export.csv", "姓名,金额\n张伟,100\n".encode("gbk")),
        ("utf16.txt", "名字".encode("utf-16")),
        ("bundle.zip", zip_bytes("a.txt")),
    ],
)
def test_upload_accepted(name: str, content: bytes) -> None:
    file = upload(name, content)
    validate_upload(file)
    assert file.read() == content  # left at the start for whoever saves it


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", EXE),
        ("scan.png", PDF),
        ("photo.jpeg", PNG),
        ("contract.docx", zip_bytes("a.txt")),  # a zip, not a Word document
        ("budget.xlsx", zip_bytes("[Content_Types].xml", "word/document.xml")),
        ("contract.docx", b"PK\x03\x04 not really a zip"),
        ("old.doc", PDF),
        ("notes.txt", EXE),
        ("notes.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 16),
        ("export.csv", b"\x89PNG\r\n\x1a\n"),
        ("bundle.zip", EXE),
    ],
)
def test_upload_content_must_match_extension(name: str, content: bytes) -> None:
    assert upload_error(name, content) == "content_mismatch"


@pytest.mark.parametrize("name", ["setup.exe", "invoice.pdf.exe", "script.sh", "README", "x."])
def test_upload_type_not_allowed(name: str) -> None:
    assert upload_error(name, PDF) == "file_type"


def test_upload_empty_refused() -> None:
    assert upload_error("empty.pdf", b"") == "empty"


def test_upload_size_limit(settings: Any) -> None:
    settings.WORKFLOW_ATTACHMENT_MAX_BYTES = len(PDF)
    validate_upload(upload("exact.pdf", PDF))
    with pytest.raises(ValidationError) as caught:
        validate_upload(upload("big.pdf", PDF + b" "))
    assert caught.value.code == "too_large"
    assert "big.pdf" in caught.value.messages[0] and "the limit is" in caught.value.messages[0]


def test_upload_default_size_limit_is_20_mb() -> None:
    big = SimpleUploadedFile("big.pdf", PDF)
    big.size = 20 * 1024 * 1024 + 1
    with pytest.raises(ValidationError) as caught:
        validate_upload(big)
    assert caught.value.code == "too_large"


def test_upload_types_setting(settings: Any) -> None:
    settings.WORKFLOW_ATTACHMENT_TYPES = [".PDF", "dwg"]
    validate_upload(upload("a.pdf", PDF))
    validate_upload(upload("plan.dwg", b"AC1032 anything"))  # no signature known: by name
    assert upload_error("scan.png", PNG) == "file_type"


def test_upload_message_is_translated_english() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_upload(upload("../../invoice.pdf", EXE))
    assert caught.value.messages == ["The content of invoice.pdf is not a PDF file."]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\zhang\\报告 2024.docx", "报告 2024.docx"),
        ("a<b>:c|d?.txt", "a_b__c_d_.txt"),
        ("line\nbreak\x00.txt", "linebreak.txt"),
        ("  spaced   out .pdf ", "spaced out.pdf"),
        (".bashrc", "bashrc"),
        ("..", "file"),
        ("", "file"),
        ("dir/", "file"),
        ("CON.txt", "_CON.txt"),
        ("trailing.dots...", "trailing.dots"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_safe_filename_shortens_keeping_the_extension() -> None:
    name = safe_filename("长" * 300 + ".xlsx")
    assert len(name) == MAX_FILENAME_LENGTH and name.endswith("长.xlsx")
    no_extension = safe_filename("x" * 300)
    assert no_extension == "x" * MAX_FILENAME_LENGTH


def test_attachment_content_type_comes_from_the_extension() -> None:
    assert attachment_content_type("a.PDF") == "application/pdf"
    assert attachment_content_type("a.csv") == "text/csv"
    assert attachment_content_type("a.dwg") == "application/octet-stream"


# --- forms for the views -------------------------------------------------------------------------


def test_attachment_form() -> None:
    form = AttachmentForm(files={"file": upload("..\\scans\\发票.pdf", PDF)})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["file"].name == "发票.pdf"
    assert ".pdf" in form.fields["file"].widget.attrs["accept"]
    bad = AttachmentForm(files={"file": upload("invoice.pdf", EXE)})
    assert not bad.is_valid()
    assert bad.errors.as_data()["file"][0].code == "content_mismatch"
    assert not AttachmentForm(files={}).is_valid()


def test_comment_form() -> None:
    assert CommentForm({"text": "同意"}).is_valid()
    assert CommentForm({"text": "   "}).errors.as_data()["text"][0].code == "required"
    assert CommentForm({"text": "x" * 4000}).is_valid()
    assert CommentForm({"text": "x" * 4001}).errors.as_data()["text"][0].code == "max_length"


def test_reason_form() -> None:
    form = ReasonForm({"reason": "Duplicate request"})
    assert form.is_valid() and form.cleaned_data == {"reason": "Duplicate request"}
    form = ReasonForm({"reason": ""})
    assert not form.is_valid() and form.errors.as_data()["reason"][0].code == "required"
