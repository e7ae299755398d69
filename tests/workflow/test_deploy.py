"""Deploying BPMN files: the service (all or nothing, versions), the ``deploy_process`` and
``render_process`` commands, and the admin's deploy page."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext as _

from portal.models import User
from tests.shared_files import shared_path
from workflow.bpmn.model import BpmnError
from workflow.models import ProcessDefinition
from workflow.services.definitions import Deployed, definition_deploy

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs" '
    'targetNamespace="http://example.com/bpmn">\n'
)
TAIL = "\n</bpmn:definitions>\n"


def leave_process(
    key: str = "leave_request",
    *,
    task_name: str = "Approve leave",
    executable: str = "true",
    application: str = "variables.set",
) -> str:
    """start -> userTask (assignee ${initiator}) -> serviceTask -> end. Element ids are
    prefixed with the key for every process but leave_request (ids are unique per file)."""
    p = "" if key == "leave_request" else f"{key}_"
    return (
        f'<bpmn:process id="{key}" name="Leave request" isExecutable="{executable}">'
        f'<bpmn:startEvent id="{p}Start" />'
        f'<bpmn:userTask id="{p}Approve" name="{task_name}" camunda:assignee="${{initiator}}" />'
        f'<bpmn:serviceTask id="{p}Record" name="Record" camunda:type="{application}" />'
        f'<bpmn:endEvent id="{p}End" />'
        f'<bpmn:sequenceFlow id="{p}f1" sourceRef="{p}Start" targetRef="{p}Approve" />'
        f'<bpmn:sequenceFlow id="{p}f2" sourceRef="{p}Approve" targetRef="{p}Record" />'
        f'<bpmn:sequenceFlow id="{p}f3" sourceRef="{p}Record" targetRef="{p}End" />'
        "</bpmn:process>"
    )


def call_process(key: str, called: str) -> str:
    """start -> callActivity(calledElement=called) -> end."""
    return (
        f'<bpmn:process id="{key}" isExecutable="true">'
        '<bpmn:startEvent id="cs" />'
        f'<bpmn:callActivity id="Call" calledElement="{called}" />'
        '<bpmn:endEvent id="ce" />'
        '<bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="Call" />'
        '<bpmn:sequenceFlow id="c2" sourceRef="Call" targetRef="ce" />'
        "</bpmn:process>"
    )


def definitions(*processes: str) -> str:
    return HEAD + "".join(processes) + TAIL


LEAVE = definitions(leave_process())

# Three problems in one process: an unknown application, a flow to a missing target, and a
# condition that does not compile on a flow out of an exclusive gateway.
BROKEN_PROCESS = (
    '<bpmn:process id="broken" isExecutable="true">'
    '<bpmn:startEvent id="bs" />'
    '<bpmn:serviceTask id="Svc" camunda:type="erp.no_such_app" />'
    '<bpmn:exclusiveGateway id="Gw" default="bd" />'
    '<bpmn:endEvent id="be" />'
    '<bpmn:sequenceFlow id="b1" sourceRef="bs" targetRef="Svc" />'
    '<bpmn:sequenceFlow id="b2" sourceRef="Svc" targetRef="Gw" />'
    '<bpmn:sequenceFlow id="Flow_Bad" sourceRef="Gw" targetRef="be">'
    "<bpmn:conditionExpression>${amount &gt;}</bpmn:conditionExpression>"
    "</bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="bd" sourceRef="Gw" targetRef="be" />'
    '<bpmn:sequenceFlow id="Flow_Lost" sourceRef="Gw" targetRef="Nowhere">'
    "<bpmn:conditionExpression>${amount &gt; 5}</bpmn:conditionExpression>"
    "</bpmn:sequenceFlow>"
    "</bpmn:process>"
)

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">
<bpmn:process id="lolz" name="&lol9;" isExecutable="true"><bpmn:startEvent id="s" />
</bpmn:process></bpmn:definitions>
"""


def element_ids(error: BpmnError) -> set[str]:
    return {p.element_id for p in error.problems}


# --- definition_deploy ------------------------------------------------------------------------


@pytest.mark.django_db
def test_deploy_creates_version_one(superuser: User) -> None:
    results = definition_deploy(xml=LEAVE, deployed_by=superuser, source_name="leave.bpmn")
    assert results == [Deployed("leave_request", 1, created=True)]
    assert str(results[0]) == "leave_request v1 deployed"
    definition = ProcessDefinition.objects.get()
    assert definition.key == "leave_request"
    assert definition.version == 1
    assert definition.name == "Leave request"
    assert len(definition.checksum) == 64
    assert definition.xml == LEAVE
    assert definition.deployed_by == superuser
    assert definition.source_name == "leave.bpmn"


@pytest.mark.django_db
def test_deploy_accepts_bytes() -> None:
    (result,) = definition_deploy(xml=LEAVE.encode())
    assert result == Deployed("leave_request", 1, created=True)


@pytest.mark.django_db
def test_identical_xml_again_is_unchanged() -> None:
    definition_deploy(xml=LEAVE)
    first = ProcessDefinition.objects.get()
    results = definition_deploy(xml=LEAVE)
    assert results == [Deployed("leave_request", 1, created=False)]
    assert str(results[0]) == "leave_request v1 unchanged"
    assert ProcessDefinition.objects.count() == 1
    assert ProcessDefinition.objects.get().pk == first.pk


@pytest.mark.django_db
def test_changed_xml_makes_version_two_and_keeps_version_one() -> None:
    definition_deploy(xml=LEAVE)
    v1 = ProcessDefinition.objects.get()
    changed = definitions(leave_process(task_name="Approve the leave"))
    assert definition_deploy(xml=changed) == [Deployed("leave_request", 2, created=True)]
    assert ProcessDefinition.objects.count() == 2
    v1_again = ProcessDefinition.objects.get(key="leave_request", version=1)
    assert v1_again.pk == v1.pk
    assert v1_again.xml == LEAVE
    assert v1_again.checksum == v1.checksum
    v2 = ProcessDefinition.objects.get(key="leave_request", version=2)
    assert v2.xml == changed
    assert v2.checksum != v1.checksum
    assert "Approve the leave" in v2.xml
    # deploying the v1 text again after v2 is a change compared with the latest: v3
    assert definition_deploy(xml=LEAVE) == [Deployed("leave_request", 3, created=True)]


@pytest.mark.django_db
def test_file_with_two_executable_processes_deploys_both() -> None:
    xml = definitions(leave_process(), leave_process("travel_request"))
    results = definition_deploy(xml=xml)
    assert sorted(results, key=lambda r: r.key) == [
        Deployed("leave_request", 1, created=True),
        Deployed("travel_request", 1, created=True),
    ]
    assert set(ProcessDefinition.objects.values_list("key", "version")) == {
        ("leave_request", 1),
        ("travel_request", 1),
    }


@pytest.mark.django_db
def test_file_without_executable_process_is_refused() -> None:
    xml = definitions(leave_process(executable="false"))
    with pytest.raises(BpmnError) as caught:
        definition_deploy(xml=xml)
    assert "executable" in str(caught.value)
    assert not ProcessDefinition.objects.exists()


@pytest.mark.django_db
def test_file_with_several_problems_lists_them_all_and_deploys_nothing() -> None:
    definition_deploy(xml=LEAVE)
    before = ProcessDefinition.objects.count()
    # a valid changed leave_request and a valid new process next to the broken one
    xml = definitions(
        leave_process(task_name="Changed"), leave_process("travel_request"), BROKEN_PROCESS
    )
    with pytest.raises(BpmnError) as caught:
        definition_deploy(xml=xml)
    error = caught.value
    assert {"Svc", "Flow_Lost", "Flow_Bad"} <= element_ids(error)
    messages = {p.element_id: p.message for p in error.problems}
    assert "erp.no_such_app" in messages["Svc"]
    assert "not a registered application" in messages["Svc"]
    assert "Nowhere" in messages["Flow_Lost"]
    assert "does not compile" in messages["Flow_Bad"]
    # the exception text names every problem too
    for element_id in ("Svc", "Flow_Lost", "Flow_Bad"):
        assert element_id in str(error)
    assert ProcessDefinition.objects.count() == before
    assert not ProcessDefinition.objects.filter(key="travel_request").exists()
    assert not ProcessDefinition.objects.filter(key="leave_request", version=2).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "xml",
    [
        pytest.param("<bpmn:definitions><bpmn:process id='x'>", id="malformed"),
        pytest.param("not xml at all", id="text"),
        pytest.param("", id="empty"),
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    ],
)
def test_unreadable_xml_is_refused_and_nothing_deployed(xml: str) -> None:
    with pytest.raises(BpmnError) as caught:
        definition_deploy(xml=xml)
    assert caught.value.problems
    assert not ProcessDefinition.objects.exists()


@pytest.mark.django_db
def test_billion_laughs_names_the_dtd() -> None:
    with pytest.raises(BpmnError) as caught:
        definition_deploy(xml=BILLION_LAUGHS)
    assert "DTD" in str(caught.value) or "entit" in str(caught.value)


@pytest.mark.django_db
def test_call_activity_to_a_deployed_process_is_accepted() -> None:
    definition_deploy(xml=LEAVE)
    results = definition_deploy(xml=definitions(call_process("caller", "leave_request")))
    assert results == [Deployed("caller", 1, created=True)]


@pytest.mark.django_db
def test_call_activity_to_a_process_of_the_same_file_is_accepted() -> None:
    xml = definitions(leave_process(), call_process("caller", "leave_request"))
    assert {r.key for r in definition_deploy(xml=xml)} == {"leave_request", "caller"}


@pytest.mark.django_db
def test_call_activity_to_an_undeployed_process_is_refused() -> None:
    with pytest.raises(BpmnError) as caught:
        definition_deploy(xml=definitions(call_process("caller", "leave_request")))
    assert element_ids(caught.value) == {"Call"}
    assert "leave_request" in str(caught.value)
    assert not ProcessDefinition.objects.exists()


# --- deploy_process ---------------------------------------------------------------------------


def run_deploy(*paths: Path) -> tuple[str, str, BaseException | None]:
    out, err = StringIO(), StringIO()
    raised: BaseException | None = None
    try:
        call_command("deploy_process", *map(str, paths), stdout=out, stderr=err)
    except CommandError as exc:
        raised = exc
    return out.getvalue(), err.getvalue(), raised


@pytest.mark.django_db
def test_deploy_command_deploys_then_reports_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "leave.bpmn"
    path.write_text(LEAVE, encoding="utf-8")
    out, err, raised = run_deploy(path)
    assert raised is None
    assert out.strip() == "leave_request v1 deployed"
    assert err == ""
    assert ProcessDefinition.objects.get().source_name == "leave.bpmn"
    out, err, raised = run_deploy(path)
    assert raised is None
    assert out.strip() == "leave_request v1 unchanged"
    assert ProcessDefinition.objects.count() == 1


@pytest.mark.django_db
def test_deploy_command_reports_problems_and_still_deploys_the_good_file(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.bpmn"
    bad.write_text(definitions(BROKEN_PROCESS), encoding="utf-8")
    good = tmp_path / "leave.bpmn"
    good.write_text(LEAVE, encoding="utf-8")
    out, err, raised = run_deploy(bad, good)
    assert isinstance(raised, CommandError)
    assert raised.returncode == 1
    lines = err.strip().splitlines()
    for element_id in ("Svc", "Flow_Lost", "Flow_Bad"):
        assert any(line.startswith(f"{bad}: {element_id}: ") for line in lines), lines
    assert all(line.startswith(f"{bad}: ") for line in lines)
    assert out.strip() == "leave_request v1 deployed"
    assert list(ProcessDefinition.objects.values_list("key", flat=True)) == ["leave_request"]


@pytest.mark.django_db
def test_deploy_command_reports_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.bpmn"
    bad.write_text("<bpmn:definitions", encoding="utf-8")
    _out, err, raised = run_deploy(bad)
    assert isinstance(raised, CommandError)
    assert err.startswith(f"{bad}: <file>: ")
    assert not ProcessDefinition.objects.exists()


@pytest.mark.django_db
def test_deploy_command_reports_an_unreadable_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.bpmn"
    good = tmp_path / "leave.bpmn"
    good.write_text(LEAVE, encoding="utf-8")
    out, err, raised = run_deploy(missing, tmp_path, good)
    assert isinstance(raised, CommandError)
    assert raised.returncode == 1
    assert f"{missing}: <file>: cannot be read" in err
    assert f"{tmp_path}: <file>: cannot be read" in err  # a directory
    assert out.strip() == "leave_request v1 deployed"


# --- render_process ---------------------------------------------------------------------------


def test_render_command_writes_an_svg_with_the_active_element(tmp_path: Path) -> None:
    source = shared_path("bpmn", "expense_approval.bpmn")
    output = tmp_path / "expense.svg"
    out = StringIO()
    call_command(
        "render_process",
        str(source),
        "-o",
        str(output),
        "--active",
        "Activity_FillClaim",
        stdout=out,
    )
    assert f"{output} written" in out.getvalue()
    svg = output.read_text(encoding="utf-8")
    assert svg.lstrip().startswith(("<svg", "<?xml"))
    marker = 'data-element-id="Activity_FillClaim"'
    assert marker in svg
    group = svg[: svg.index(marker)].rsplit("<g ", 1)[1]
    assert "is-active" in group


def test_render_command_refuses_a_file_without_diagram(tmp_path: Path) -> None:
    source = tmp_path / "leave.bpmn"
    source.write_text(LEAVE, encoding="utf-8")
    output = tmp_path / "leave.svg"
    with pytest.raises(CommandError, match="no diagram"):
        call_command("render_process", str(source), "-o", str(output), stdout=StringIO())
    assert not output.exists()


def test_render_command_reports_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot be read"):
        call_command(
            "render_process",
            str(tmp_path / "missing.bpmn"),
            "-o",
            str(tmp_path / "x.svg"),
            stdout=StringIO(),
        )


# --- the admin --------------------------------------------------------------------------------

CHANGELIST = "/admin/workflow/processdefinition/"
DEPLOY = "/admin/workflow/processdefinition/deploy/"


def upload(xml: str, name: str = "leave.bpmn") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xml.encode(), content_type="application/xml")


@pytest.mark.django_db
def test_admin_changelist_shows_the_deploy_link(
    login: Callable[[User], Client], superuser: User
) -> None:
    response = login(superuser).get(CHANGELIST)
    assert response.status_code == 200
    assert f'href="{DEPLOY}"'.encode() in response.content


@pytest.mark.django_db
def test_admin_deploy_page_answers(login: Callable[[User], Client], superuser: User) -> None:
    response = login(superuser).get(DEPLOY)
    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content
    assert b'name="file"' in response.content


@pytest.mark.django_db
def test_admin_deploy_a_valid_file(login: Callable[[User], Client], superuser: User) -> None:
    client = login(superuser)
    response = client.post(DEPLOY, {"file": upload(LEAVE)})
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    definition = ProcessDefinition.objects.get()
    assert (definition.key, definition.version) == ("leave_request", 1)
    assert definition.deployed_by == superuser
    assert definition.source_name == "leave.bpmn"
    assert definition.xml == LEAVE
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    with translation.override("zh-hans"):
        deployed = _("%(key)s: version %(version)d deployed.")
        unchanged = _("%(key)s: unchanged (same as version %(version)d).")
    assert texts == [deployed % {"key": "leave_request", "version": 1}]
    # following the redirect shows (and consumes) the message
    page = client.get(response["Location"])
    assert deployed % {"key": "leave_request", "version": 1} in page.content.decode()
    # the same file again: a redirect and an "unchanged" message, no new row
    response = client.post(DEPLOY, {"file": upload(LEAVE)})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        unchanged % {"key": "leave_request", "version": 1}
    ]
    assert ProcessDefinition.objects.count() == 1


@pytest.mark.django_db
def test_admin_deploy_a_bad_file_shows_the_problems(
    login: Callable[[User], Client], superuser: User
) -> None:
    xml = definitions(leave_process("travel_request"), BROKEN_PROCESS)
    response = login(superuser).post(DEPLOY, {"file": upload(xml, "bad.bpmn")})
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    for element_id in ("Svc", "Flow_Lost", "Flow_Bad"):
        assert any(e.startswith(f"{element_id}: ") for e in errors), errors
    content = response.content.decode()
    assert "errorlist" in content
    assert "erp.no_such_app" in content
    assert not ProcessDefinition.objects.exists()


@pytest.mark.django_db
def test_admin_deploy_a_malformed_file_shows_a_file_problem(
    login: Callable[[User], Client], superuser: User
) -> None:
    response = login(superuser).post(DEPLOY, {"file": upload("<oops", "bad.bpmn")})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not ProcessDefinition.objects.exists()


@pytest.mark.django_db
def test_admin_deploy_without_a_file_is_a_form_error(
    login: Callable[[User], Client], superuser: User
) -> None:
    # a browser's POST always carries the CSRF token, so the form is bound
    response = login(superuser).post(DEPLOY, {"csrfmiddlewaretoken": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not ProcessDefinition.objects.exists()


@pytest.mark.django_db
def test_admin_process_definition_is_read_only(
    login: Callable[[User], Client], superuser: User
) -> None:
    (result,) = definition_deploy(xml=LEAVE)
    definition = ProcessDefinition.objects.get()
    client = login(superuser)
    response = client.get(f"{CHANGELIST}{definition.pk}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="key"' not in content
    assert 'name="xml"' not in content
    assert "leave_request" in content
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    # a POST to the change page changes nothing
    client.post(f"{CHANGELIST}{definition.pk}/change/", {"key": "hacked", "version": 9})
    definition.refresh_from_db()
    assert (definition.key, definition.version) == ("leave_request", result.version)


@pytest.mark.django_db
def test_admin_deploy_as_employee_redirects_to_login(
    login: Callable[[User], Client], employee: User
) -> None:
    client = login(employee)
    response = client.get(DEPLOY)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    response = client.post(DEPLOY, {"file": upload(LEAVE)})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not ProcessDefinition.objects.exists()


@pytest.mark.django_db
def test_admin_deploy_anonymous_redirects_to_login(client: Client) -> None:
    response = client.get(DEPLOY)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_admin_deploy_as_staff_without_permission_is_forbidden(
    login: Callable[[User], Client], hr_admin: User
) -> None:
    client = login(hr_admin)
    assert client.get(DEPLOY).status_code == 403
    assert client.post(DEPLOY, {"file": upload(LEAVE)}).status_code == 403
    assert not ProcessDefinition.objects.exists()
