"""The workflow's guide registry (workflow/guides.py): the task page and the start page ask it
for "how to do this step" links without knowing which app answers. The knowledge base's side
(its articles as guides, who may read them) is tests/knowledge/test_views.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal.models import User
from workflow import guides
from workflow.guides import Guide, GuideSource


@pytest.fixture
def sources() -> Iterator[list[str]]:
    """Sources registered by a test, taken out again after it."""
    added: list[str] = []
    yield added
    for key in added:
        guides.sources.unregister(key)


def _register(sources: list[str], key: str, found: list[Guide], order: int = 100) -> None:
    guides.sources.register(GuideSource(key, lambda user, process, step: found, order))
    sources.append(key)


def _broken(user: User, process_key: str, step_id: str) -> list[Guide]:
    raise RuntimeError("a bug in another app")


def test_every_source_answers_each_address_once(sources: list[str], employee: User) -> None:
    _register(sources, "a", [Guide("VPN", "/kb/1/"), Guide("打印", "/kb/2/")], order=1)
    _register(sources, "b", [Guide("VPN again", "/kb/1/"), Guide("报销", "/kb/3/")], order=2)
    found = guides.guides_for(employee, "expense", "check")
    assert [g.url for g in found] == ["/kb/1/", "/kb/2/", "/kb/3/"]
    assert found[0].title == "VPN"


def test_a_failing_source_leaves_the_others(sources: list[str], employee: User) -> None:
    guides.sources.register(GuideSource("broken", _broken, order=1))
    sources.append("broken")
    _register(sources, "fine", [Guide("报销", "/kb/3/")])
    assert guides.guides_for(employee, "expense") == [Guide("报销", "/kb/3/")]


def test_at_most_a_few_links(sources: list[str], employee: User) -> None:
    _register(sources, "many", [Guide(str(n), f"/kb/{n}/") for n in range(20)])
    assert len(guides.guides_for(employee, "expense", "check")) == guides.MAX_GUIDES
