"""What the workflow tells other apps: that a request ended.

Another app learns of an end by registering an :class:`InstanceEndListener` in
``instance_end_listeners`` from its ``AppConfig.ready()`` (the ERP bridge publishes the
``instance.finished`` webhook to the systems that subscribed to it). The engine calls every
listener from the one place where it handles ended instances (``engine.after_commit``, which
every engine and approval action runs once its changes are written), **inside the ending
transaction**: a listener that writes (an outbox message) commits or rolls back with the end
itself, so an end is never announced for a change that did not happen. A listener must not
make a network call there (the instance's lock is held); it writes a row that leaves after
the commit. What raises in a listener rolls the whole action back.

Only requests are announced (instances no call activity started): a called instance is a
part of its request, and its caller goes on. ``outcome`` is the instance's end state
(``completed``, ``rejected``, ``cancelled``, ``terminated``; ``workflow.models.InstanceState``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from portal.registry import Registry

__all__ = ["InstanceEndListener", "announce_ended", "instance_end_listeners"]


@dataclass(frozen=True)
class InstanceEndListener:
    """Told ``ended(instance_id, definition_key, outcome)`` when a request ends, inside the
    transaction that ended it."""

    key: str
    ended: Callable[[int, str, str], None]


instance_end_listeners: Registry[InstanceEndListener] = Registry("instance end listeners")


def announce_ended(ended: Sequence[tuple[int, str]], keys: Mapping[int, str]) -> None:
    """Tell every listener of each request in ``ended`` ((instance id, end state), the
    engine's ``Effects.ended``) that it ended, in the order they ended. ``keys``: the
    definition key of each of them that is a request (a called instance is not), as the
    engine read them once for this and the initiators' notices (``store.ended_requests``)."""
    if not ended or not instance_end_listeners.keys():
        return
    for pk, state in ended:
        if pk in keys:
            for listener in instance_end_listeners:
                listener.ended(pk, keys[pk], state)
