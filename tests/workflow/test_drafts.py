"""The catalogue's reads and the draft / start-request services (workflow/drafts.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.models import User
from tests.workflow.approval_helpers import make_role, settings, user_task
from tests.workflow.engine_helpers import chain, definitions
from workflow.engine.runtime import EngineError
from workflow.models import Attachment, Draft, InstanceStartKey, ProcessInstance, Task
from workflow.selectors import catalogue
from workflow.services import definitions as deploys
from workflow.services import drafts, starts

REASON = (
    '<camunda:formField id="reason" label="Reason" type="string">'
    '<camunda:validation><camunda:constraint name="required"/></camunda:validation>'
    "</camunda:formField>"
)
AMOUNT = (
    '<camunda:formField id="amount" label="Amount" type="long">'
    '<camunda:validation><camunda:constraint name="required"/>'
    '<camunda:constraint name="min" config="1"/></camunda:validation>'
    "</camunda:formField>"
)
FIELDS = REASON + AMOUNT


def deploy_process(
    key: str = "claim",
    *,
    name: str = "Expense claim",
    fields: str = FIELDS,
    start: str | None = None,
    documentation: str = "",
) -> str:
    """Deploy ``start (with form fields) -> approve (the initiator's manager) -> end``."""
    if start is None:
        extension = (
            f"<extensionElements><camunda:formData>{fields}</camunda:formData></extensionElements>"
            if fields
            else ""
        )
        start = f'<startEvent id="start" name="Request">{extension}</startEvent>'
    doc = f"<documentation>{documentation}</documentation>" if documentation else ""
    body = (
        doc
        + start
        + user_task("approve", assignee="${manager(initiator)}")
        + '<endEvent id="end"/>'
        + chain("start", "approve", "end")
    )
    xml = definitions(f'<process id="{key}" name="{name}" isExecutable="true">{body}</process>')
    deploys.definition_deploy(xml=xml, source_name=f"{key}.bpmn")
    return key


def restrict(key: str, *members: User, role: str = "finance_staff") -> None:
    """Only members of ``role`` may start ``key``."""
    found = make_role(role, *members)
    settings(key).starter_roles.add(found)


def names(categories: list[catalogue.Category]) -> dict[str, list[str]]:
    return {c.name: [p.key for p in c.processes] for c in categories}


VALID = {"reason": "Client visit in Shanghai", "amount": "3200"}


def submit(user: User, key: str = "claim", **kwargs: Any) -> tuple[int, bool]:
    kwargs.setdefault("data", VALID)
    kwargs.setdefault("idempotency_key", "web:k1")
    return starts.request_submit(user=user, key=key, **kwargs)


# --- the catalogue -------------------------------------------------------------------------


@pytest.mark.django_db
def test_catalogue_lists_latest_versions_by_category_other_last(employee: User) -> None:
    deploy_process("claim", name="Expense claim")
    deploy_process("claim", name="Expense claim v2", fields=REASON)
    deploy_process("leave", name="Leave request")
    deploy_process("misc", name="Anything else")
    settings("claim", category="Finance", description="Claim your expenses.")
    settings("leave", category="HR")
    found = catalogue.startable_processes(employee)
    assert names(found) == {"Finance": ["claim"], "HR": ["leave"], "": ["misc"]}
    assert [c.name for c in found] == ["Finance", "HR", ""]
    claim = found[0].processes[0]
    assert (claim.name, claim.version, claim.description) == (
        "Expense claim v2",
        2,
        "Claim your expenses.",
    )


@pytest.mark.django_db
def test_description_falls_back_to_the_definitions(employee: User) -> None:
    deploy_process("claim", documentation="Claims for travel.")
    process = catalogue.startable_process(employee, "claim")
    assert process is not None
    assert process.description == "Claims for travel."


@pytest.mark.django_db
def test_catalogue_search_by_name_key_or_description(employee: User) -> None:
    deploy_process("claim", name="Expense claim")
    deploy_process("leave", name="Leave request", documentation="Annual or sick leave")
    assert names(catalogue.startable_processes(employee, search="EXPENSE")) == {"": ["claim"]}
    assert names(catalogue.startable_processes(employee, search="sick")) == {"": ["leave"]}
    assert names(catalogue.startable_processes(employee, search="nothing")) == {}


@pytest.mark.django_db
def test_restricted_process_only_for_its_starters(
    employee: User, colleague: User, superuser: User
) -> None:
    deploy_process("claim")
    deploy_process("budget", name="Budget")
    restrict("budget", colleague)
    assert names(catalogue.startable_processes(employee)) == {"": ["claim"]}
    assert catalogue.startable_process(employee, "budget") is None
    assert names(catalogue.startable_processes(colleague)) == {"": ["budget", "claim"]}
    assert catalogue.startable_process(superuser, "budget") is not None


@pytest.mark.django_db
def test_a_process_without_a_plain_start_is_not_listed(employee: User) -> None:
    message_start = (
        '<startEvent id="start"><messageEventDefinition messageRef="Msg_go"/></startEvent>'
    )
    xml = definitions(
        '<message id="Msg_go" name="go"/>'
        '<process id="bymessage" name="By message" isExecutable="true">'
        + message_start
        + '<endEvent id="end"/>'
        + chain("start", "end")
        + "</process>"
    )
    deploys.definition_deploy(xml=xml, source_name="m.bpmn")
    assert catalogue.startable_processes(employee) == []
    assert catalogue.startable_process(employee, "bymessage") is None
    assert catalogue.startable_process(employee, "nothing") is None


# --- drafts --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_save_keeps_invalid_data_and_starts_nothing(employee: User) -> None:
    deploy_process()
    draft = drafts.draft_save(
        user=employee, key="claim", title=" Trip ", data={"amount": "not a number"}
    )
    assert (draft.owner, draft.definition_key, draft.title) == (employee, "claim", "Trip")
    assert draft.data == {"amount": "not a number"}
    assert not ProcessInstance.objects.exists()
    assert list(catalogue.drafts_for(employee)) == [draft]


@pytest.mark.django_db
def test_save_updates_the_same_draft(employee: User) -> None:
    deploy_process()
    draft = drafts.draft_save(user=employee, key="claim", data={"reason": "a"})
    again = drafts.draft_save(
        user=employee,
        key="claim",
        title="t",
        data={"reason": "ab", "amount": "5"},
        draft_id=draft.pk,
    )
    assert again.pk == draft.pk
    draft.refresh_from_db()
    assert (draft.title, draft.data) == ("t", {"reason": "ab", "amount": "5"})
    assert Draft.objects.count() == 1


@pytest.mark.django_db
def test_save_cuts_long_values_and_refuses_huge_drafts(employee: User) -> None:
    deploy_process()
    draft = drafts.draft_save(user=employee, key="claim", data={"reason": "x" * 20_000})
    assert len(draft.data["reason"]) == drafts.MAX_DRAFT_VALUE_CHARS
    many = {f"f{i}": "y" * 9_000 for i in range(10)}
    with pytest.raises(ValidationError):
        drafts.draft_save(user=employee, key="claim", data=many)
    assert Draft.objects.count() == 1


@pytest.mark.django_db
def test_drafts_newest_first(employee: User) -> None:
    deploy_process()
    first = drafts.draft_save(user=employee, key="claim", data={})
    second = drafts.draft_save(user=employee, key="claim", data={})
    drafts.draft_save(user=employee, key="claim", data={"reason": "x"}, draft_id=first.pk)
    assert list(catalogue.drafts_for(employee)) == [first, second]


@pytest.mark.django_db
def test_another_persons_draft_is_refused(employee: User, colleague: User) -> None:
    deploy_process()
    draft = drafts.draft_save(user=employee, key="claim", data={"reason": "mine"})
    assert catalogue.draft_for(colleague, draft.pk) is None
    assert catalogue.draft_for(employee, str(draft.pk)) == draft
    assert catalogue.draft_for(employee, "x") is None
    with pytest.raises(Draft.DoesNotExist):
        drafts.draft_save(user=colleague, key="claim", data={"reason": "h"}, draft_id=draft.pk)
    with pytest.raises(Draft.DoesNotExist):
        drafts.draft_discard(user=colleague, draft_id=draft.pk)
    with pytest.raises(Draft.DoesNotExist):
        submit(colleague, draft_id=draft.pk)
    draft.refresh_from_db()
    assert draft.data == {"reason": "mine"}
    assert not ProcessInstance.objects.exists()


@pytest.mark.django_db
def test_draft_of_a_process_one_may_not_start_is_refused(employee: User, colleague: User) -> None:
    deploy_process()
    restrict("claim", colleague)
    with pytest.raises(starts.StartNotAllowed):
        drafts.draft_save(user=employee, key="claim", data={})
    assert not Draft.objects.exists()


@pytest.mark.django_db
def test_discard(employee: User) -> None:
    deploy_process()
    draft = drafts.draft_save(user=employee, key="claim", data={})
    drafts.draft_discard(user=employee, draft_id=draft.pk)
    assert not Draft.objects.exists()
    with pytest.raises(Draft.DoesNotExist):
        drafts.draft_discard(user=employee, draft_id=draft.pk)


# --- submitting ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_submit_starts_with_the_cleaned_form_values(employee: User, dept_head: User) -> None:
    deploy_process()
    with pytest.raises(ValidationError) as refused:
        submit(employee, data={**VALID, "smuggled": "x", "initiator": "nobody"})
    assert sorted(refused.value.message_dict) == ["initiator", "smuggled"]
    assert not ProcessInstance.objects.exists()
    instance_id, created = submit(employee, data=VALID, title="Shanghai trip")
    assert created
    instance = ProcessInstance.objects.get(pk=instance_id)
    assert instance.initiator == "zhangwei"
    assert instance.title == "Shanghai trip"
    assert instance.variables["reason"] == "Client visit in Shanghai"
    assert instance.variables["amount"] == 3200
    assert "smuggled" not in instance.variables
    assert Task.objects.get(instance=instance).assignee == "lina"


@pytest.mark.django_db
def test_submit_without_title_names_the_request(employee: User, dept_head: User) -> None:
    deploy_process()
    instance_id, _created = submit(employee)
    assert ProcessInstance.objects.get(pk=instance_id).title == "张伟's Expense claim"


@pytest.mark.django_db
def test_submit_with_invalid_data_starts_nothing(employee: User) -> None:
    deploy_process()
    draft = drafts.draft_save(user=employee, key="claim", data={})
    with pytest.raises(ValidationError) as refused:
        submit(employee, data={"reason": "", "amount": "0"}, draft_id=draft.pk)
    assert set(refused.value.message_dict) == {"reason", "amount"}
    assert not ProcessInstance.objects.exists()
    assert not InstanceStartKey.objects.exists()
    assert Draft.objects.filter(pk=draft.pk).exists()


@pytest.mark.django_db
def test_submit_from_a_draft_deletes_it(employee: User, dept_head: User) -> None:
    deploy_process()
    draft = drafts.draft_save(user=employee, key="claim", data={"reason": "half"})
    other = drafts.draft_save(user=employee, key="claim", data={"reason": "other"})
    instance_id, created = submit(employee, draft_id=draft.pk)
    assert created and ProcessInstance.objects.filter(pk=instance_id).exists()
    assert list(Draft.objects.all()) == [other]


@pytest.mark.django_db
def test_draft_is_kept_when_the_start_fails(employee: User, monkeypatch: Any) -> None:
    deploy_process()
    draft = drafts.draft_save(user=employee, key="claim", data={"reason": "half"})

    def broken(*args: Any, **kwargs: Any) -> int:
        raise EngineError("boom")

    monkeypatch.setattr(starts, "instance_start", broken)
    with pytest.raises(EngineError):
        submit(employee, draft_id=draft.pk)
    assert Draft.objects.filter(pk=draft.pk).exists()
    assert not InstanceStartKey.objects.exists()


@pytest.mark.django_db
def test_the_same_idempotency_key_starts_one_instance(employee: User, dept_head: User) -> None:
    deploy_process()
    draft = drafts.draft_save(user=employee, key="claim", data={})
    first, created = submit(employee, draft_id=draft.pk)
    # the second click of a double click: same key, same values, the draft already gone
    again, created_again = submit(employee, draft_id=draft.pk)
    assert (created, created_again) == (True, False)
    assert again == first
    assert ProcessInstance.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_other_values_is_refused(employee: User, dept_head: User) -> None:
    deploy_process()
    submit(employee)
    with pytest.raises(starts.IdempotencyKeyReused):
        submit(employee, data={**VALID, "amount": "9"})
    assert ProcessInstance.objects.count() == 1
    _id, created = submit(employee, data={**VALID, "amount": "9"}, idempotency_key="web:k2")
    assert created and ProcessInstance.objects.count() == 2


@pytest.mark.django_db
def test_submit_refused_to_who_may_not_start(employee: User, colleague: User) -> None:
    deploy_process()
    restrict("claim", colleague)
    with pytest.raises(starts.StartNotAllowed):
        submit(employee)
    assert not ProcessInstance.objects.exists()


@pytest.mark.django_db
def test_a_start_without_a_form_sets_no_variables(employee: User, dept_head: User) -> None:
    deploy_process(fields="")
    with pytest.raises(ValidationError) as refused:
        submit(employee, data={"anything": "x"})
    assert list(refused.value.message_dict) == ["anything"]
    instance_id, _created = submit(employee, data={})
    assert ProcessInstance.objects.get(pk=instance_id).variables == {}


# --- attachments at the start --------------------------------------------------------------


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.django_db
def test_submit_attaches_files_to_the_new_instance(
    employee: User, dept_head: User, media: Any
) -> None:
    deploy_process()
    receipt = SimpleUploadedFile("receipt.txt", b"taxi 35 yuan", content_type="text/plain")
    instance_id, _created = submit(employee, attachments=[receipt])
    attachment = Attachment.objects.get()
    assert (attachment.instance_id, attachment.uploaded_by, attachment.name) == (
        instance_id,
        employee,
        "receipt.txt",
    )


@pytest.mark.django_db
def test_a_bad_attachment_starts_nothing(employee: User, media: Any) -> None:
    deploy_process()
    draft = drafts.draft_save(user=employee, key="claim", data={})
    fake = SimpleUploadedFile(
        "invoice.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
    )
    with pytest.raises(ValidationError) as refused:
        submit(employee, attachments=[fake], draft_id=draft.pk)
    assert list(refused.value.message_dict) == ["attachments"]
    assert not ProcessInstance.objects.exists() and not Attachment.objects.exists()
    assert Draft.objects.filter(pk=draft.pk).exists()
    many = [SimpleUploadedFile(f"{i}.txt", b"x") for i in range(starts.MAX_ATTACHMENTS + 1)]
    with pytest.raises(ValidationError):
        submit(employee, attachments=many)
    assert not ProcessInstance.objects.exists()
