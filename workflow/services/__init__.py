"""Every write of the workflow, one module per area: the public API other apps, the views,
the REST API, Celery tasks and management commands call (docs/architecture.md).

- ``definitions`` — check and deploy BPMN files, arm their start timers;
- ``engine`` — start an instance, complete a task, correlate a message, throw a signal;
- ``jobs`` — claim and run due jobs (timers, async steps, service calls), retry incidents;
- ``history`` — delete history past its time to live;
- ``starts`` — a person starts a request from its start form (pages, API, OAuth2 apps);
- ``drafts`` — keep a half-filled start form;
- ``steps`` — the locked step every approval action works on, and its checks;
- ``approvals`` — claim, approve, reject, return, withdraw, cancel, transfer, delegate, add
  and remove signers, copy, urge, comments, attachments;
- ``administration`` — a process administrator suspends, resumes, terminates, moves,
  reassigns and migrates;
- ``deadlines`` — reminders and time-outs of due dates;
- ``notifications`` — who is told what (new tasks, returns, ends, copies);
- ``external`` — tasks of other systems in the unified to-do list.
"""
