"""The knowledge base in Django admin: every list and page opens for the administrator, the
sidebar has its own area, spaces are saved through the services, the recycle bin is a filter
and its actions go through the services, the records are read-only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client, RequestFactory
from django.utils import translation

from knowledge import services
from knowledge.models import Article, AuditEvent, Feedback, Space, Tag, Visibility
from portal.admin_site import sidebar
from portal.models import User

pytestmark = pytest.mark.django_db

MODELS = [Space, Tag, Article, Feedback, AuditEvent]


@pytest.fixture
def filled(superuser: User, employee: User) -> dict[str, object]:
    space = services.space_create(
        by=superuser, key="it", name="IT 服务台", visibility=Visibility.PUBLIC
    )
    services.space_member_set(by=superuser, space_id=space.pk, role="editor", user=employee)
    article = services.article_create(
        by=superuser, space_id=space.pk, title="VPN 指南", body="正文", tags=("VPN",)
    )
    services.article_publish(by=superuser, article_id=article.pk)
    services.article_save(by=superuser, article_id=article.pk, title="VPN 指南", body="第二版")
    services.feedback_give(by=employee, article_id=article.pk, helpful=True, comment="有用")
    return {"space": space, "article": article}


def url(model: type[Model], view: str = "") -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{view}"


def test_every_knowledge_model_is_registered() -> None:
    registered = {m for m in admin.site._registry if m._meta.app_label == "knowledge"}
    assert registered == set(MODELS)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_the_administrator_sees_every_list_and_page(login, superuser, filled, model) -> None:
    client: Client = login(superuser)
    listed = client.get(url(model))
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == model.objects.count() > 0
    obj = model.objects.first()
    assert client.get(url(model, f"{obj.pk}/change/")).status_code == 200


def test_only_spaces_may_be_added(login, superuser) -> None:
    client = login(superuser)
    assert client.get(url(Space, "add/")).status_code == 200
    for model in (Tag, Article, Feedback, AuditEvent):
        assert client.get(url(model, "add/")).status_code == 403


def test_the_sidebar_has_a_knowledge_base_area(superuser) -> None:
    request = RequestFactory().get("/admin/")
    request.user = superuser
    with translation.override("en"):
        groups = {str(g["title"]): [str(i["title"]) for i in g["items"]] for g in sidebar(request)}
    assert set(groups["Knowledge base"]) == {
        "Spaces",
        "Tags",
        "Articles",
        "Feedback",
        "Audit events",
    }


def test_a_space_is_created_and_changed_through_the_services(login, superuser) -> None:
    client = login(superuser)
    form = {
        "key": "hr",
        "name": "人力资源",
        "name_en": "HR",
        "description": "",
        "visibility": "public",
        "department": "",
        "requires_review": "on",
        "review_months": "12",
    }
    assert client.post(url(Space, "add/"), form).status_code == 302
    space = Space.objects.get(key="hr")
    assert space.requires_review
    assert AuditEvent.objects.filter(space=space, action="created").exists()
    changed = {**form, "name": "人力资源部", "requires_review": ""}
    assert client.post(url(Space, f"{space.pk}/change/"), changed).status_code == 302
    space.refresh_from_db()
    assert space.name == "人力资源部" and not space.requires_review
    assert AuditEvent.objects.filter(space=space, action="space_changed").exists()
    page = client.get(url(Space, f"{space.pk}/change/")).content.decode()
    assert "admin" in page  # the creator is its first admin, shown read-only


def test_the_recycle_bin_filter_and_actions(login, superuser, filled) -> None:
    client = login(superuser)
    article = filled["article"]
    answer = client.post(
        url(Article),
        {"action": "move_to_recycle_bin", "_selected_action": [article.pk]},
    )
    assert answer.status_code == 302
    assert Article.objects.get(pk=article.pk).deleted_at is not None
    binned = client.get(url(Article) + "?deleted=yes")
    assert binned.context["cl"].result_count == 1
    assert client.get(url(Article) + "?deleted=no").context["cl"].result_count == 0
    client.post(
        url(Article), {"action": "restore_from_recycle_bin", "_selected_action": [article.pk]}
    )
    assert Article.objects.get(pk=article.pk).deleted_at is None


def test_staff_without_the_permissions_see_none_of_it(login, hr_admin, filled) -> None:
    client = login(hr_admin)
    for model in MODELS:
        assert client.get(url(model)).status_code == 403


def test_a_bad_space_setting_is_the_forms_error(login, superuser) -> None:
    form = {"key": "hr", "name": "人力资源", "visibility": "department", "review_months": "999"}
    answer = login(superuser).post(url(Space, "add/"), form)
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert set(errors) >= {"review_months"}
    assert not Space.objects.filter(key="hr").exists()
