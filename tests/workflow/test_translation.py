"""English is English (issue 15, item 6): a process's names in the reader's language from
its translation table (``ProcessSettings.translations``, edited in the designer), falling
back to the BPMN names; the demo processes read in English; notifications in each
recipient's language; default titles built per language; and the designer: its
translations panel's API, and no new version for an unchanged diagram (issue 15, item 17).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import translation as django_translation

from portal.models import Notification, User
from tests.workflow.approval_helpers import deploy_steps, open_task, settings, start, user_task
from workflow import demo, translation
from workflow.bpmn.parser import parse_bpmn
from workflow.models import ProcessDefinition, ProcessInstance, ProcessSettings
from workflow.services import approvals, starts
from workflow.services.definitions import definition_checksum, definition_deploy

pytestmark = pytest.mark.django_db

FIELDS = (
    '<camunda:formField id="kind" label="类型" type="enum">'
    '<camunda:value id="annual" name="年假"/><camunda:value id="sick" name="病假"/>'
    "</camunda:formField>"
    '<camunda:formField id="days" label="天数" type="long"/>'
)


def _english(*users: User) -> None:
    for user in users:
        user.preferred_language = "en"
        user.save()


def _designer(user: User) -> User:
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="add_processdefinition")
    )
    return User.objects.get(pk=user.pk)


# --- the one function and its fallback ----------------------------------------------------


def test_a_name_falls_back_to_the_bpmn_name_where_no_translation_exists(employee: User) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    with django_translation.override("en"):
        assert translation.process_name("leave", "请假") == "请假"
        assert translation.step_name("leave", "Manager", "上级审批") == "上级审批"
    settings(translations={"en": {"process": "Leave", "Manager": "  "}})
    with django_translation.override("en"):
        assert translation.process_name("leave", "请假") == "Leave"
        assert translation.step_name("leave", "Manager", "上级审批") == "上级审批"  # blank
        assert translation.field_label("leave", "days", "天数") == "天数"
    with django_translation.override("zh-hans"):
        assert translation.process_name("leave", "请假") == "请假"  # the source language
    assert translation.process_name("leave", "请假", language="en") == "Leave"
    assert translation.translated("other", "process", "别的") == "别的"


def test_a_form_gets_its_labels_and_options_in_the_language(employee: User) -> None:
    deploy_steps(user_task("Manager", assignee="lina", fields=FIELDS))
    settings(translations={"en": {"field:kind": "Kind", "enum:kind:annual": "Annual leave"}})

    class Form(forms.Form):
        kind = forms.ChoiceField(
            label="类型", choices=[("", "---"), ("annual", "年假"), ("sick", "病假")]
        )
        days = forms.IntegerField(label="天数")

    with django_translation.override("en"):
        form = translation.localize_form(Form(), "leave")
    assert form.fields["kind"].label == "Kind"
    assert list(form.fields["kind"].choices) == [  # type: ignore[attr-defined]
        ("", "---"),
        ("annual", "Annual leave"),
        ("sick", "病假"),
    ]
    assert form.fields["days"].label == "天数"
    assert Form.base_fields["kind"].label == "类型"  # the class is untouched


def test_a_default_title_is_built_in_the_readers_language(employee: User) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    settings(translations={"en": {"process": "Leave request"}})
    with django_translation.override("zh-hans"):
        stored = translation.default_title("张伟", "请假")
    assert stored != translation.default_title("张伟", "请假", language="en")
    for language, expected in (
        ("en", translation.default_title("张伟", "Leave request", language="en")),
        ("zh-hans", stored),
    ):
        shown = translation.request_title(
            stored, key="leave", process="请假", person="张伟", language=language
        )
        assert shown == expected
    # a title the initiator typed stays theirs
    assert (
        translation.request_title("三天年假", key="leave", process="请假", person="张伟")
        == "三天年假"
    )


# --- the demo processes in English ----------------------------------------------------------


@pytest.mark.parametrize("process", demo.PROCESSES, ids=lambda p: p.key)
def test_every_text_of_a_demo_process_has_an_english_name(process: demo.DemoProcess) -> None:
    """English mode is English: each name a demo process shows has its translation."""
    definitions = parse_bpmn(process.path.read_bytes())
    (found,) = [p for p in definitions.executable_processes if p.id == process.key]
    english = demo.TRANSLATIONS[process.key]["en"]
    entries = translation.entries_of(found)
    missing = [e.entry for e in entries if e.source and e.entry not in english]
    assert missing == []
    assert not [k for k, v in english.items() if re.search(r"[\u4e00-\u9fff]", v)]
    category = translation.Entry(translation.CATEGORY, "category", process.category)
    table = demo.TRANSLATIONS[process.key]
    assert translation.clean_translations(table, [*entries, category]) == table


@pytest.fixture
def expense_claim(dept_head: User) -> str:
    process = next(p for p in demo.PROCESSES if p.key == "expense_claim")
    definition_deploy(xml=process.path.read_bytes(), source_name=process.path.name)
    ProcessSettings.objects.create(
        key="expense_claim", category="财务", translations=demo.TRANSLATIONS["expense_claim"]
    )
    return "expense_claim"


def test_the_start_page_of_a_demo_process_in_english(
    login: Callable[[User], Client], employee: User, expense_claim: str
) -> None:
    _english(employee)
    html = login(employee).get(f"/workflow/processes/{expense_claim}/start/").content.decode()
    english = demo.TRANSLATIONS["expense_claim"]["en"]
    assert "<title>" in html and "Expense claim" in html.split("</title>")[0]
    for text in (
        english["field:reason"],
        english["field:expense_type"],
        english["enum:expense_type:travel"],
        english["enum:expense_type:entertainment"],
        english["field:expense_date"],
    ):
        assert text in html, text
    visible = re.sub(r"<[^>]+>", " ", html.split("<main", 1)[1].split("</main>", 1)[0])
    for chinese in ("费用报销", "报销事由", "费用类型", "差旅", "招待", "发生日期", "财务"):
        assert chinese not in visible, chinese
    catalogue = login(employee).get("/workflow/processes/").content.decode()
    assert "Expense claim" in catalogue and english["category"] in catalogue


def test_the_task_page_of_a_demo_process_in_english(
    login: Callable[[User], Client], employee: User, dept_head: User, expense_claim: str
) -> None:
    with django_translation.override("zh-hans"):
        iid, _created = starts.request_submit(
            user=employee,
            key=expense_claim,
            data={
                "reason": "上海客户拜访",
                "amount": "3200.00",
                "expense_type": "travel",
                "expense_date": "2025-03-01",
            },
        )
    instance = ProcessInstance.objects.get(pk=iid)
    assert re.search(r"[\u4e00-\u9fff]", instance.title)  # the stored default title: Chinese
    task = open_task(iid, "Task_ManagerApproval")
    _english(dept_head)
    html = login(dept_head).get(f"/workflow/tasks/{task.pk}/").content.decode()
    english = demo.TRANSLATIONS["expense_claim"]["en"]
    header = html.split('class="wf-head"', 1)[1].split("</header>", 1)[0]
    assert english["Task_ManagerApproval"] in header
    assert english["process"] in header
    assert f"{employee.display_name}&#x27;s Expense claim" in header  # the title, in English
    for text in (english["field:reason"], english["field:expense_type"], "Travel"):
        assert text in html, text
    visible = re.sub(r"<[^>]+>", " ", header)
    for person in (employee.display_name, dept_head.display_name):  # people keep their names
        visible = visible.replace(person, "")
    assert not re.search(r"[\u4e00-\u9fff]", visible)


def test_a_notification_is_in_each_recipients_language(
    employee: User,
    colleague: User,
    dept_head: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"), user_task("Colleague", assignee="wangfang"))
    settings(
        translations={"en": {"process": "Leave", "Colleague": "Colleague check"}},
        auto_pass_repeated=False,
    )
    _english(colleague)
    iid = start(employee)
    # started without a title: the default one, in the initiator's language (Chinese)
    with django_translation.override("zh-hans"):
        chinese_title = translation.default_title(employee.display_name, "leave")
    ProcessInstance.objects.filter(pk=iid).update(title=chinese_title)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.task_approve(open_task(iid).pk, user=dept_head)
    note = Notification.objects.filter(recipient=colleague).latest("pk")
    assert "Colleague check" in note.title  # the step, in English
    assert translation.default_title(employee.display_name, "Leave", language="en") in note.title
    assert chinese_title not in note.title


# --- the translations table through the designer's API ---------------------------------------


def test_the_designer_reads_and_saves_translations(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("Manager", assignee="lina", fields=FIELDS))
    client = login(_designer(dept_head))
    url = "/api/v1/definitions/leave/translations"
    body = client.get(url).json()
    entries = {e["entry"]: e for e in body["entries"]}
    assert {"process", "Manager", "field:kind", "enum:kind:annual", "field:days"} <= set(entries)
    assert entries["enum:kind:annual"]["text"] == "年假"
    assert [lang["code"] for lang in body["languages"]] == ["en"]
    saved = client.put(
        url,
        json.dumps({"translations": {"en": {"Manager": " Manager approval ", "field:days": ""}}}),
        content_type="application/json",
    )
    assert saved.status_code == 200
    assert saved.json()["translations"] == {"en": {"Manager": "Manager approval"}}
    assert ProcessSettings.objects.get(key="leave").translations == {
        "en": {"Manager": "Manager approval"}
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"en": {"Task_Nowhere": "x"}},
        {"fr": {"process": "x"}},
        {"en": {"process": 3}},
        {"en": ["process"]},
        {"en": {"process": "x" * 256}},
    ],
)
def test_bad_translations_are_refused_and_nothing_changes(
    login: Callable[[User], Client], employee: User, dept_head: User, bad: Any
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    settings(translations={"en": {"process": "Leave"}})
    client = login(_designer(dept_head))
    answer = client.put(
        "/api/v1/definitions/leave/translations",
        json.dumps({"translations": bad}),
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"]["translations"]
    assert ProcessSettings.objects.get(key="leave").translations == {"en": {"process": "Leave"}}


def test_only_designers_see_translations_and_unknown_processes_are_404(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    assert login(employee).get("/api/v1/definitions/leave/translations").status_code == 403
    client = login(_designer(dept_head))
    assert client.get("/api/v1/definitions/nothing/translations").status_code == 404


# --- the designer: an unchanged diagram makes no new version ---------------------------------


def _as_bpmn_js_writes_it(xml: str) -> str:
    """The same diagram as the designer's bpmn-js saves it: comments dropped, another
    indentation, an element's validation before its values, the exporter named."""
    text = re.sub(r"<!--.*?-->", "", xml, flags=re.S)
    text = re.sub(r">\s+<", ">\n    <", text)
    text = re.sub(
        r"((?:<camunda:value [^>]*/>\s*)+)(<camunda:validation>.*?</camunda:validation>)",
        r"\2\1",
        text,
        flags=re.S,
    )
    return text.replace("<bpmn:definitions ", '<bpmn:definitions exporter="bpmn-js" ', 1)


def test_deploying_the_same_diagram_written_another_way_makes_no_new_version(
    dept_head: User,
) -> None:
    path = next(p for p in demo.PROCESSES if p.key == "leave_request").path
    original = path.read_text(encoding="utf-8")
    (first,) = definition_deploy(xml=original.encode())
    rewritten = _as_bpmn_js_writes_it(original)
    assert rewritten != original
    assert definition_checksum(rewritten) == definition_checksum(original)
    (again,) = definition_deploy(xml=rewritten)
    assert (again.created, again.version) == (False, first.version)
    changed = rewritten.replace('name="请假申请"', 'name="请假"', 1)
    (second,) = definition_deploy(xml=changed)
    assert (second.created, second.version) == (True, first.version + 1)
    assert ProcessDefinition.objects.filter(key="leave_request").count() == 2


def test_a_version_deployed_with_the_old_checksum_is_still_recognized(dept_head: User) -> None:
    """Versions deployed before the checksum read what a file says kept the bytes' hash."""
    path = next(p for p in demo.PROCESSES if p.key == "leave_request").path
    definition_deploy(xml=path.read_bytes())
    ProcessDefinition.objects.filter(key="leave_request").update(checksum="0" * 64)
    (again,) = definition_deploy(xml=_as_bpmn_js_writes_it(path.read_text(encoding="utf-8")))
    assert not again.created


def test_the_designer_says_an_unchanged_deploy_made_no_version(
    login: Callable[[User], Client], dept_head: User
) -> None:
    deploy_steps(user_task("Manager", assignee="lina"))
    xml = ProcessDefinition.objects.get(key="leave").xml
    client = login(_designer(dept_head))
    _english(dept_head)
    answer = client.post(
        "/api/v1/definitions/",
        json.dumps({"xml": xml, "source_name": "leave.bpmn"}),
        content_type="application/json",
    )
    assert answer.status_code == 200
    assert answer.json() == [{"key": "leave", "version": 1, "created": False}]
    page = client.get("/workflow/designer/?key=leave").content.decode()
    config = json.loads(
        page.split('id="designer-config" type="application/json">', 1)[1].split("</script>", 1)[0]
    )
    assert config["labels"]["unchanged_version"].startswith("No changes: no new version was made")
    assert config["language"] == "en"
    assert config["urls"]["translations"] == "/api/v1/definitions/__KEY__/translations"
    assert 'id="designer-translations"' in page
    assert '<option value="leave" data-name="leave" selected>leave · leave v1</option>' in page
