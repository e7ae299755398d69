"""Workflow tables.

A process definition is one version of one process key, with the BPMN XML it was deployed
from; running instances stay on the version they started on.

The runtime is kept in tables, never in a serialized blob: an instance row (its variables as
JSON plus indexed columns that lists filter on), one row per token (``Execution``, with the
scope it runs in), user tasks with their candidates, event subscriptions, jobs (timers, async
continuations, service calls) and incidents. History is append-only (``HistoryEvent``) and is
written in the same transaction as the change it records.

The engine's hot path (start, complete, fire a job) reads and writes these tables with SQL of
its own (``workflow.engine.store``); the ORM models serve admin, lists and reports. Runtime
rows are addressed inside an instance by a small ``number`` (a token's number is unique in its
instance), so that the engine can create rows without asking the database for ids.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from workflow.recipients import duration_problem, recipients_problems


class ProcessDefinition(models.Model):
    """One deployed version of a process (``key`` is the BPMN process id).

    Deploying XML identical to the latest version's changes nothing; any change makes the
    next version. Rows are never edited after deployment.
    """

    key = models.CharField(_("process key"), max_length=255)
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    xml = models.TextField(_("BPMN XML"))
    checksum = models.CharField(_("checksum"), max_length=64)
    source_name = models.CharField(_("file name"), max_length=255, blank=True)
    history_time_to_live = models.CharField(_("history time to live"), max_length=40, blank=True)
    deployed_at = models.DateTimeField(_("deployed at"), auto_now_add=True)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deployed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("process definition")
        verbose_name_plural = _("process definitions")
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="definition_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.name or self.key} v{self.version}"


class InstanceState(models.TextChoices):
    ACTIVE = "active", _("running")
    SUSPENDED = "suspended", _("suspended")
    COMPLETED = "completed", _("completed")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled by the initiator")
    TERMINATED = "terminated", _("terminated")


ENDED_STATES = (
    InstanceState.COMPLETED,
    InstanceState.REJECTED,
    InstanceState.CANCELLED,
    InstanceState.TERMINATED,
)


class ProcessInstance(models.Model):
    """One run of a process definition. Every engine action locks this row first (the row of
    the *root* instance, for instances started by a call activity), so actions on one
    instance tree are serialized."""

    definition = models.ForeignKey(
        ProcessDefinition, verbose_name=_("process definition"), on_delete=models.PROTECT
    )
    definition_key = models.CharField(_("process key"), max_length=255)
    business_key = models.CharField(_("business key"), max_length=255, blank=True)
    title = models.CharField(_("title"), max_length=255, blank=True)
    initiator = models.CharField(_("initiator"), max_length=150, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=InstanceState.choices, default=InstanceState.ACTIVE
    )
    variables = models.JSONField(_("variables"), default=dict)
    # call activities: the calling instance and the token that waits for this one
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    parent_execution = models.PositiveIntegerField(null=True, blank=True)
    root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    end_event = models.CharField(_("end event"), max_length=255, blank=True)
    # 加急: the initiator marked it urgent; its tasks come first and flagged in the inbox.
    urgent = models.BooleanField(_("urgent"), default=False, db_default=False)
    # The title, process name and business key segmented for text search
    # (``portal.search.search_text``), written with the row by the engine; served by a GIN
    # index on PostgreSQL and an FTS5 table on SQLite (migration 0010, selectors/search.py).
    search = models.TextField(_("search text"), blank=True, default="", db_default="")
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)
    next_number = models.PositiveIntegerField(default=1)  # the next token / row number

    class Meta:
        verbose_name = _("process instance")
        verbose_name_plural = _("process instances")
        permissions = [
            ("manage_processes", _("Can intervene in running processes")),
            ("push_external_tasks", _("Can push tasks of other systems into the inbox")),
        ]
        indexes = [
            models.Index(fields=["definition_key", "state", "started_at"]),
            models.Index(fields=["business_key"]),
            models.Index(fields=["initiator", "started_at"]),
            models.Index(fields=["state", "ended_at"]),
            # the console's list, newest first (all, or of one state), and its keyset pages
            models.Index(fields=["started_at", "id"], name="instance_started"),
            models.Index(fields=["state", "started_at"], name="instance_state_started"),
        ]

    def __str__(self) -> str:
        return f"{self.definition_key} #{self.pk}"


class Execution(models.Model):
    """A token, or a scope that holds tokens (an embedded sub-process, a multi-instance body,
    a call activity waiting for its called instance). ``parent`` is the number of the scope
    execution it runs in (None: the process level)."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE)
    number = models.PositiveIntegerField()
    parent = models.PositiveIntegerField(null=True, blank=True)
    element_id = models.CharField(max_length=255)
    state = models.CharField(max_length=16)  # active | waiting | joining | scope
    variables = models.JSONField(default=dict)  # local: loop counters, element variables
    entered_at = models.DateTimeField()

    class Meta:
        verbose_name = _("token")
        verbose_name_plural = _("tokens")
        constraints = [
            models.UniqueConstraint(fields=["instance", "number"], name="execution_number_once")
        ]

    def __str__(self) -> str:
        return f"{self.instance_id}/{self.number} {self.element_id}"


class TaskState(models.TextChoices):
    OPEN = "open", _("open")
    WAITING = "waiting", _("waiting for added signers")  # 加签 before me: back after them
    PENDING = "pending", _("not yet due")  # 加签 after me: opens when the one before is done
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")


# A task someone still has to act on, now or once the signers before them are done
LIVE_TASK_STATES = (TaskState.OPEN, TaskState.WAITING, TaskState.PENDING)


class Signer(models.TextChoices):
    """Where an added signer (加签) stands relative to the person who added them."""

    BEFORE = "before", _("before me")
    AFTER = "after", _("after me")
    ALONGSIDE = "alongside", _("alongside me")


class Delegation(models.TextChoices):
    """委派: the owner hands the task to someone who works on it, then it comes back."""

    PENDING = "pending", _("with the delegate")
    RESOLVED = "resolved", _("back from the delegate")


class Task(models.Model):
    """A user task: open while a person has to act, then completed (or cancelled when its
    token was taken away) and kept for the "done" list and history."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE)
    execution = models.PositiveIntegerField()  # number of the token that waits on this task
    definition_key = models.CharField(max_length=255)
    element_id = models.CharField(max_length=255)
    name = models.CharField(_("name"), max_length=255, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=TaskState.choices, default=TaskState.OPEN
    )
    assignee = models.CharField(_("assignee"), max_length=150, blank=True)
    priority = models.IntegerField(_("priority"), default=50)
    form_key = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.CharField(_("completed by"), max_length=150, blank=True)
    outcome = models.CharField(_("outcome"), max_length=32, blank=True)
    data = models.JSONField(_("submitted data"), default=dict)
    # out-of-office delegation: the absent person this task was meant for
    on_behalf_of = models.CharField(_("on behalf of"), max_length=150, blank=True, db_default="")
    # 委派: who delegated the task and decides once it is back
    owner = models.CharField(_("owner"), max_length=150, blank=True, db_default="")
    delegation = models.CharField(
        _("delegation"), max_length=16, choices=Delegation.choices, blank=True, db_default=""
    )
    # 加签: the task whose handler added this signer, and where
    added_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="signers"
    )
    signer = models.CharField(
        _("added signer"), max_length=16, choices=Signer.choices, blank=True, db_default=""
    )
    # The handwritten signature drawn when the step was decided (a PNG), where asked for.
    signature = models.FileField(
        _("signature"), upload_to="workflow/signatures/%Y/%m/", blank=True, db_default=""
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["assignee", "state", "created_at"]),
            models.Index(fields=["instance", "execution"]),
            # 已办 by completion; with the process key, so that the inbox's process filter
            # reads the processes of a long history's latest tasks from the index alone, and
            # with what a search tests of a row (its state, step name and instance), so that a
            # search walks a long history in the index alone (PostgreSQL; SQLite has no
            # INCLUDE and leaves it out)
            models.Index(
                fields=["completed_by", "completed_at"],
                include=["definition_key", "state", "name", "instance", "id"],
                name="task_done_by_completion",
            ),
            models.Index(fields=["state", "due_at"]),
            # the API's done tab, by arrival (created_at) like its other tabs
            models.Index(
                fields=["completed_by", "created_at"],
                include=["state", "name", "instance", "id"],
                name="task_done_by_arrival",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.element_id


class TaskCandidate(models.Model):
    """Who may claim an open task: a user name or a group (role code)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="candidates")
    kind = models.CharField(max_length=8)  # user | group | dept
    value = models.CharField(max_length=150)
    # the task is on offer: open and held by nobody. A new row that does not say (None) takes
    # it from its task, and a task going on or off offer writes it to its rows: the
    # database's triggers (migration 0013), whatever writes them. A hint for finding what
    # someone may claim by index, never the test itself (the task's own state and assignee
    # are tested again).
    offered = models.BooleanField(default=None, null=True, editable=False)

    class Meta:
        # with the task id: a role's candidate rows (kept after completion: thousands for a
        # busy role) are read from the index alone, to be matched with the open tasks
        indexes = [
            models.Index(fields=["kind", "value", "task"], name="candidate_lookup"),
            # the other way round: is this open task offered to me (one probe per task)
            models.Index(fields=["task", "kind", "value"], name="candidate_of_task"),
            # what a person may claim: their few rows on offer, of the hundreds of thousands
            models.Index(
                fields=["kind", "value", "task"],
                name="candidate_on_offer",
                condition=models.Q(offered=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Subscription(models.Model):
    """A token waiting for a message or signal (catch events, receive tasks, boundary
    events, event-based gateways, event sub-process starts)."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE)
    execution = models.PositiveIntegerField()  # the token that waits, or the scope
    element_id = models.CharField(max_length=255)  # the catching event
    kind = models.CharField(max_length=8)  # message | signal
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["kind", "name"]),
            models.Index(fields=["instance", "execution"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class JobKind(models.TextChoices):
    TIMER = "timer", _("timer")
    ASYNC = "async", _("asynchronous continuation")
    SERVICE = "service", _("service call")
    START_TIMER = "start-timer", _("timer start event")
    REMINDER = "reminder", _("task reminder")
    TIMEOUT = "timeout", _("task timeout")


class Job(models.Model):
    """Work the engine does later or in the background. Workers claim due jobs with a lease
    (``locked_until``); a job whose worker died is claimed again once the lease ran out. A
    job that fails is retried with a growing delay until its retries are spent; then it
    stays here with ``retries=0`` and an open incident, until someone retries it."""

    instance = models.ForeignKey(ProcessInstance, null=True, blank=True, on_delete=models.CASCADE)
    root_instance_id = models.BigIntegerField(null=True, blank=True)
    definition = models.ForeignKey(
        ProcessDefinition, null=True, blank=True, on_delete=models.CASCADE
    )
    execution = models.PositiveIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=16, choices=JobKind.choices)
    element_id = models.CharField(max_length=255)
    due_at = models.DateTimeField()
    retries = models.PositiveSmallIntegerField(default=3)
    attempts = models.PositiveSmallIntegerField(default=0)
    locked_by = models.CharField(max_length=64, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        indexes = [
            models.Index(fields=["due_at"], name="job_due"),
            # the claim skips jobs whose instance tree already has a job running (leased)
            models.Index(fields=["root_instance_id", "locked_until"], name="job_root_lease"),
            models.Index(fields=["instance", "execution"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.element_id}"


class Incident(models.Model):
    """A job that failed every retry (or an error nobody caught), for an administrator to
    look at and retry."""

    instance = models.ForeignKey(ProcessInstance, null=True, blank=True, on_delete=models.CASCADE)
    job_id = models.BigIntegerField(null=True, blank=True)  # the failed job, kept for retry
    element_id = models.CharField(max_length=255, blank=True)
    message = models.TextField()
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [models.Index(fields=["resolved_at", "created_at"])]

    def __str__(self) -> str:
        return self.message[:80]


class HistoryEvent(models.Model):
    """Append-only history: one row when an instance starts or ends, when an activity
    instance ends (with its start, so its duration is known), and when a task is created,
    completed or cancelled (who, on whose behalf, outcome). Rows are never updated; they are
    deleted only by the time-to-live cleanup, together with their ended instance."""

    instance_id = models.BigIntegerField()
    definition_key = models.CharField(max_length=255)
    kind = models.CharField(max_length=24)
    element_id = models.CharField(max_length=255, blank=True)
    element_kind = models.CharField(max_length=32, blank=True)
    task_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    on_behalf_of = models.CharField(max_length=150, blank=True)
    outcome = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    at = models.DateTimeField()
    duration_ms = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("history event")
        verbose_name_plural = _("history")
        indexes = [
            models.Index(fields=["instance_id", "at"]),
            models.Index(fields=["definition_key", "element_id", "kind"]),
            # 已办's second half: the tasks a person handed on (selectors.inbox.tasks_handed)
            models.Index(
                fields=["actor", "-at"],
                condition=models.Q(
                    kind__in=["task-transferred", "task-delegated", "task-resolved"]
                ),
                name="history_handed_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.element_id}"


# --- people around the process ----------------------------------------------------------------


class RejectPolicy(models.TextChoices):
    ROUTE = "route", _("continue with approved = false (the diagram decides)")
    END = "end", _("end the process as rejected")
    RETURN = "return", _("return it to the initiator")


class ResubmitPolicy(models.TextChoices):
    RESTART = "restart", _("walk every step again")
    JUMP = "jump", _("go straight back to the step that returned it")


class EmptyAssigneePolicy(models.TextChoices):
    ESCALATE = "escalate", _("give the task to the escalation role")
    SKIP = "skip", _("skip the step")
    INCIDENT = "incident", _("leave it unassigned and raise an incident")


class InitiatorApproverPolicy(models.TextChoices):
    SKIP = "skip", _("skip the step")
    KEEP = "keep", _("keep the step")


class TimeoutPolicy(models.TextChoices):
    NONE = "", _("nothing")
    REMIND = "remind", _("remind the handler")
    ESCALATE = "escalate", _("escalate to the escalation role")
    APPROVE = "approve", _("approve automatically")
    REJECT = "reject", _("reject automatically")


class ProcessSettings(models.Model):
    """How the approval rules apply to one process key (every version): what a rejection
    does, what happens to a step nobody can take, due dates and time-outs, who may start it.
    A process without a row uses the defaults of a new row."""

    key = models.CharField(_("process key"), max_length=255, unique=True)
    category = models.CharField(_("category"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    starter_roles = models.ManyToManyField(
        "portal.Role",
        verbose_name=_("who may start it"),
        blank=True,
        related_name="+",
        help_text=_("Leave empty to let every employee start it."),
    )
    reject = models.CharField(
        _("on rejection"), max_length=16, choices=RejectPolicy.choices, default=RejectPolicy.END
    )
    resubmit = models.CharField(
        _("on resubmission after a return"),
        max_length=16,
        choices=ResubmitPolicy.choices,
        default=ResubmitPolicy.RESTART,
    )
    empty_assignee = models.CharField(
        _("when nobody can take a step"),
        max_length=16,
        choices=EmptyAssigneePolicy.choices,
        default=EmptyAssigneePolicy.ESCALATE,
    )
    escalation_role = models.ForeignKey(
        "portal.Role",
        verbose_name=_("escalation role"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    initiator_approver = models.CharField(
        _("when the initiator is the approver"),
        max_length=16,
        choices=InitiatorApproverPolicy.choices,
        default=InitiatorApproverPolicy.SKIP,
    )
    auto_pass_repeated = models.BooleanField(
        _("pass when the same person approves twice in a row"), default=True
    )
    default_due = models.CharField(
        _("default time to handle a step"),
        max_length=40,
        blank=True,
        help_text=_("An ISO 8601 duration such as P2D or PT8H; empty: no due date."),
    )
    remind_before = models.CharField(
        _("remind before the due date"), max_length=40, blank=True, help_text=_("e.g. PT4H")
    )
    timeout = models.CharField(
        _("when a step is overdue"),
        max_length=16,
        choices=TimeoutPolicy.choices,
        blank=True,
        default=TimeoutPolicy.REMIND,
    )
    cc_at_end = models.CharField(
        _("copy to when it ends"),
        max_length=500,
        blank=True,
        help_text=_("User names or role:code, separated by commas."),
    )
    urge_interval_minutes = models.PositiveIntegerField(_("minutes between two urges"), default=30)
    starter_departments = models.ManyToManyField(
        "portal.Department",
        verbose_name=_("departments that may start it"),
        blank=True,
        related_name="+",
        help_text=_("With their sub-departments. No roles and no departments: everyone."),
    )
    icon = models.CharField(_("icon"), max_length=40, blank=True)
    # Names in other languages: {"en": {"process": "Leave request", "Task_Approve": "Approval",
    # "field:days": "Days", "enum:type:annual": "Annual leave", ...}}; see workflow.translation.
    translations = models.JSONField(_("translations"), default=dict, blank=True)

    class Meta:
        verbose_name = _("process settings")
        verbose_name_plural = _("process settings")

    def __str__(self) -> str:
        return self.key

    def clean(self) -> None:
        """Durations the engine can read, a CC list that names somebody (known, active
        people; existing roles and departments; expressions that parse). The one check
        Django admin, the console's settings page and the API share."""
        errors: dict[str, list[str]] = {}
        for name in ("default_due", "remind_before"):
            problem = duration_problem(getattr(self, name) or "")
            if problem:
                errors[name] = [problem]
        problems = recipients_problems(self.cc_at_end or "")
        if problems:
            errors["cc_at_end"] = problems
        if errors:
            raise ValidationError(errors)


class Phrase(models.Model):
    """常用语: a sentence a person often writes as their opinion, one tap away on every
    comment box. A person with none sees the defaults (``workflow.phrases.DEFAULTS``)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workflow_phrases"
    )
    text = models.CharField(_("phrase"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved phrase")
        verbose_name_plural = _("saved phrases")
        ordering = ["owner", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "text"], name="phrase_once_per_person")
        ]

    def __str__(self) -> str:
        return self.text


class CarbonCopy(models.Model):
    """抄送: a person may read an instance they were copied on; one row per person and
    instance however often they are copied (the first copy's time is kept)."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="copies")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workflow_copies"
    )
    sent_by = models.CharField(_("sent by"), max_length=150, blank=True)
    element_id = models.CharField(max_length=255, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("copied at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("carbon copy")
        verbose_name_plural = _("carbon copies")
        constraints = [
            models.UniqueConstraint(fields=["instance", "user"], name="copy_once_per_person")
        ]
        indexes = [
            # the unread count; and the 抄送我的 tab, newest first, read or not
            models.Index(fields=["user", "read_at", "created_at"]),
            models.Index(fields=["user", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id} → {self.user_id}"


class Comment(models.Model):
    """A remark on an instance, at a step or outside one (approval comments live in the
    history with the action they explain)."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="comments")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [models.Index(fields=["instance", "created_at"])]

    def __str__(self) -> str:
        return self.text[:60]


class Attachment(models.Model):
    """A file attached to an instance at a step; size and type are checked on upload
    (``WORKFLOW_ATTACHMENT_MAX_BYTES``, ``WORKFLOW_ATTACHMENT_TYPES``)."""

    instance = models.ForeignKey(
        ProcessInstance, on_delete=models.CASCADE, related_name="attachments"
    )
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    file = models.FileField(_("file"), upload_to="workflow/%Y/%m/")
    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("type"), max_length=100)
    created_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class InstanceStartKey(models.Model):
    """An ``Idempotency-Key`` an API client sent with a start: the same key from the same
    caller answers with the instance it started the first time instead of a second one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="start_key_once_per_user")
        ]

    def __str__(self) -> str:
        return self.key


class ExternalTaskState(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


class ExternalTask(models.Model):
    """统一待办: an approval task of another system (ERP, HR ...) shown in our inbox with a
    link back. The source system names it (``source`` + ``external_id``); an update that
    carries an older ``source_updated_at`` than the stored one is ignored."""

    source = models.CharField(_("source system"), max_length=64)
    external_id = models.CharField(_("id in the source system"), max_length=255)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.CASCADE,
        related_name="external_tasks",
    )
    title = models.CharField(_("title"), max_length=255)
    summary = models.TextField(_("summary"), blank=True)
    url = models.URLField(_("link"), max_length=1000)
    category = models.CharField(_("category"), max_length=100, blank=True)
    state = models.CharField(
        _("state"), max_length=8, choices=ExternalTaskState.choices, default=ExternalTaskState.OPEN
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    source_updated_at = models.DateTimeField(_("changed in the source system at"))
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    replaced_by = models.CharField(_("replaced by"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("external task")
        verbose_name_plural = _("external tasks")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="external_task_once")
        ]
        indexes = [models.Index(fields=["assignee", "state", "created_at"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class Draft(models.Model):
    """草稿: what a person typed into a process's start form and kept without starting it.

    Only its owner sees it. ``data`` holds the raw values as typed (valid or not), keyed by
    field name; ``definition_key`` names the process, not a version, so a draft still opens
    after the process is redeployed (values of fields that no longer exist are dropped when
    it opens). Submitting the start form from a draft deletes it in the start's transaction.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="workflow_drafts",
    )
    definition_key = models.CharField(_("process key"), max_length=255)
    title = models.CharField(_("title"), max_length=255, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last saved at"), auto_now=True)

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["owner", "updated_at"])]

    def __str__(self) -> str:
        return self.title or self.definition_key
