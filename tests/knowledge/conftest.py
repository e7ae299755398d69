"""Fixtures of the knowledge base's tests: a space with its people, a published article.

- ``kb_people``: role -> person in the space ``kb_space`` — ``admin`` 赵敏 (space admin),
  ``editor`` 张伟, ``reviewer`` 王芳, ``reader`` 李娜 (the organization's ``employee``,
  ``colleague`` ... personas of tests/conftest.py are reused where they fit), and
  ``outsider`` 刘洋, who holds no role (the space is members-only, so he reads nothing);
- ``kb_space``: the members-only space ``it`` (IT 服务台) that publishes without review;
- ``kb_review_space``: the members-only space ``hr`` (人力资源) that reviews its articles,
  with the same people in the same roles;
- ``kb_article``: an article of ``kb_space`` written by the editor and published (version 1).
"""

from __future__ import annotations

import pytest

from knowledge import services
from knowledge.models import Article, Space, SpaceRole, Visibility
from portal.models import Department, User
from tests.factories import UserFactory, role


@pytest.fixture
def kb_people(
    org: dict[str, Department],
    employee: User,
    colleague: User,
    dept_head: User,
    outsider: User,
    hr_admin: User,
) -> dict[str, User]:
    """The people of the knowledge base's tests, by their role in the spaces."""
    return {
        "admin": hr_admin,
        "editor": employee,
        "reviewer": colleague,
        "reader": dept_head,
        "outsider": outsider,
    }


def _creator() -> User:
    """Who creates the test spaces: someone holding ``knowledge.add_space``."""
    creator = UserFactory.create(username="kb_creator", first_name="建", last_name="陈")
    creator.groups.add(role("kb_space_creators", permissions=["knowledge.add_space"]))
    return User.objects.get(pk=creator.pk)  # a fresh object: no cached permissions


def make_space(
    people: dict[str, User], *, key: str, name: str, requires_review: bool = False
) -> Space:
    """A members-only space whose admin, editor, reviewer and reader are ``people``'s."""
    creator = _creator()
    space = services.space_create(
        by=creator,
        key=key,
        name=name,
        visibility=Visibility.MEMBERS,
        requires_review=requires_review,
    )
    for role_name in (SpaceRole.ADMIN, SpaceRole.EDITOR, SpaceRole.REVIEWER, SpaceRole.READER):
        services.space_member_set(
            by=creator, space_id=space.pk, role=role_name, user=people[str(role_name)]
        )
    services.space_member_remove(by=people["admin"], space_id=space.pk, user=creator)
    return space


@pytest.fixture
def kb_space(kb_people: dict[str, User]) -> Space:
    return make_space(kb_people, key="it", name="IT 服务台")


@pytest.fixture
def kb_review_space(kb_people: dict[str, User]) -> Space:
    return make_space(kb_people, key="hr", name="人力资源", requires_review=True)


@pytest.fixture
def kb_article(kb_space: Space, kb_people: dict[str, User]) -> Article:
    """「VPN 连接指南」, published in ``kb_space`` by its editor."""
    editor = kb_people["editor"]
    article = services.article_create(
        by=editor,
        space_id=kb_space.pk,
        title="VPN 连接指南",
        summary="在家办公时如何连接公司 VPN",
        body="# 连接步骤\n\n1. 打开客户端\n2. 输入工号和密码\n",
        tags=["VPN", "远程办公"],
    )
    services.article_publish(by=editor, article_id=article.pk)
    article.refresh_from_db()
    return article
