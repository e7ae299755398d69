"""The inbox's rows as ``workflow.views.inbox_rows`` writes them: every mark, phrase and date
of a row, values escaped, the phrases in the person's language."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from django.utils import timezone, translation

from workflow.selectors.timeline import Holder
from workflow.views.inbox import Row
from workflow.views.inbox_rows import inbox_rows

AT = datetime.datetime(2026, 12, 6, 1, 30, tzinfo=datetime.UTC)  # 09:30 in Shanghai


def test_a_task_row_has_every_mark_and_escapes_what_people_typed() -> None:
    row = Row(
        kind="task",
        obj=SimpleNamespace(pk=42),
        url="/tasks/42/?a=1&b=2",
        title="<script>报销</script>",
        process="费用报销",
        step="部门经理审批",
        initiator="张伟 & 李娜",
        at=AT,
        due_at=AT + datetime.timedelta(days=1),
        overdue=True,
        urgent=True,
        on_behalf_of="王芳",
        delegated_by="赵敏",
        signer="孙丽",
        approvable=True,
    )
    with translation.override("zh-hans"), timezone.override("Asia/Shanghai"):
        html = str(inbox_rows([row]))
    assert '<li class="inbox-row kind-task approvable" data-testid="row">' in html
    assert '<input type="checkbox" name="task" value="42" form="bulk-form"' in html
    assert "&lt;script&gt;报销&lt;/script&gt;" in html and "<script>" not in html
    assert 'href="/tasks/42/?a=1&amp;b=2"' in html
    for mark in (">急<", "已超时", "代 王芳 处理", "赵敏 委派", "加签 · 孙丽"):
        assert mark in html, mark
    assert "张伟 &amp; 李娜" in html
    assert '<span class="due late">' in html
    assert 'datetime="2026-12-06T09:30:00+08:00"' in html


def test_an_instance_row_names_who_holds_each_open_step() -> None:
    row = Row(
        kind="instance",
        obj=SimpleNamespace(pk=7),
        url="/instances/7/",
        title="年假申请",
        process="请假",
        initiator="我",
        at=AT,
        state="审批中",
        state_key="running",
        steps=[Holder("部门经理审批", ["李娜", "王<芳>"]), Holder("等待系统")],
    )
    with translation.override("en"):
        html = str(inbox_rows([row]))
    assert "Now at:" in html and "部门经理审批 (李娜、王&lt;芳&gt;), 等待系统" in html
    assert "Initiator" not in html  # one's own request: no initiator line
    assert '<span class="tag status status-running">审批中</span>' in html
    assert "Started" in html and '<span class="pick">' not in html


def test_a_row_of_another_system_opens_there() -> None:
    row = Row(
        kind="external",
        obj=SimpleNamespace(pk=3, summary="长" * 200),
        url="https://oa.example.com/t/3",
        title="合同会签",
        process="旧 OA",
        step="法务审核",
        external=True,
    )
    with translation.override("en"):
        html = str(inbox_rows([row]))
    assert 'target="_blank" rel="noopener noreferrer"' in html
    assert "From 旧 OA" in html and "(opens the other system)" in html
    assert '<span class="step">法务审核</span>' in html  # no "Step:" for another system
    assert "长" * 119 + "…" in html and "长" * 121 not in html
