"""The knowledge base's REST API (/api/v1/knowledge/): every operation as the people who may
and may not use it, the conflict of two saves, field errors, the search's answers to any
text, the schema, scopes and throttles.

Personas (tests/conftest.py): the employee edits the IT space, the colleague only reads it,
the outsider (财务部) reads the public spaces but not the sales department's; the superuser
administers everything.
"""

from __future__ import annotations

import datetime
import json
import secrets
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from oauth2_provider.models import AccessToken, Application

from knowledge import selectors, services
from knowledge.models import Article, AuditEvent, Feedback, SpaceRole, Visibility
from portal.models import Department, User
from tests.factories import english

pytestmark = pytest.mark.django_db

API = "/api/v1/knowledge"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture
def people(employee: User, colleague: User, outsider: User, dept_head: User, superuser: User):
    english(employee, colleague, outsider, dept_head, superuser)
    return {
        "employee": User.objects.get(pk=employee.pk),
        "colleague": User.objects.get(pk=colleague.pk),
        "outsider": User.objects.get(pk=outsider.pk),
        "manager": User.objects.get(pk=dept_head.pk),
        "admin": User.objects.get(pk=superuser.pk),
    }


@pytest.fixture
def kb(people: dict[str, User], org: dict[str, Department]) -> dict[str, Any]:
    """Three spaces: IT (public, no review; the employee edits it), HR (public, reviewed; the
    manager edits it), Sales (the sales department's). A published article and a draft in
    IT, a published one in Sales."""
    admin = people["admin"]
    it = services.space_create(
        by=admin, key="it", name="IT 服务台", name_en="IT help desk", visibility=Visibility.PUBLIC
    )
    hr = services.space_create(
        by=admin, key="hr", name="人力资源", visibility=Visibility.PUBLIC, requires_review=True
    )
    sales = services.space_create(
        by=admin,
        key="sales",
        name="销售",
        visibility=Visibility.DEPARTMENT,
        department=org["sales"],
    )
    services.space_member_set(
        by=admin, space_id=it.pk, role=SpaceRole.EDITOR, user=people["employee"]
    )
    services.space_member_set(
        by=admin, space_id=hr.pk, role=SpaceRole.EDITOR, user=people["manager"]
    )
    vpn = services.article_create(
        by=people["employee"],
        space_id=it.pk,
        title="VPN 连接指南",
        body="# VPN\n\n在家办公时先连接公司 VPN。",
        summary="如何连接 VPN",
        tags=("VPN", "远程办公"),
    )
    services.article_publish(by=people["employee"], article_id=vpn.pk)
    draft = services.article_create(
        by=people["employee"], space_id=it.pk, title="打印机驱动", body="草稿：安装驱动。"
    )
    quota = services.article_create(
        by=admin, space_id=sales.pk, title="销售配额", body="季度销售配额说明。"
    )
    services.article_publish(by=admin, article_id=quota.pk)
    return {"it": it, "hr": hr, "sales": sales, "vpn": vpn, "draft": draft, "quota": quota}


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return client


def send(client: Client, method: str, url: str, body: Any = None) -> Any:
    return client.generic(method, url, data=json.dumps(body or {}), content_type="application/json")


def fields_of(answer: Any) -> dict[str, list[str]]:
    error = answer.json()["error"]
    assert error["code"] == "invalid", error
    return error["fields"]


# --- spaces -------------------------------------------------------------------------------------


def test_the_space_list_shows_what_each_person_reads(people, kb) -> None:
    keys = {
        name: [s["key"] for s in client_of(user).get(f"{API}/spaces/").json()]
        for name, user in people.items()
    }
    assert keys["employee"] == ["hr", "it", "sales"]
    assert keys["outsider"] == ["hr", "it"]
    assert keys["admin"] == ["hr", "it", "sales"]
    it = next(
        s for s in client_of(people["employee"]).get(f"{API}/spaces/").json() if s["key"] == "it"
    )
    assert it["display_name"] == "IT help desk"
    assert it["permissions"] == ["edit_space", "read_space"]


def test_a_space_detail_has_its_tags_and_hides_what_one_may_not_read(people, kb) -> None:
    answer = client_of(people["colleague"]).get(f"{API}/spaces/it")
    assert answer.status_code == 200
    assert answer.json()["tags"] == [{"name": "vpn", "count": 1}, {"name": "远程办公", "count": 1}]
    assert answer.json()["permissions"] == ["read_space"]
    hidden = client_of(people["outsider"]).get(f"{API}/spaces/sales")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"
    assert client_of(people["outsider"]).get(f"{API}/spaces/nope").status_code == 404


# --- reading articles ---------------------------------------------------------------------------


def test_the_article_list_has_the_published_articles_one_reads(people, kb) -> None:
    answer = client_of(people["outsider"]).get(f"{API}/articles/")
    assert answer.status_code == 200
    assert [a["title"] for a in answer.json()["results"]] == ["VPN 连接指南"]
    mine = client_of(people["employee"]).get(f"{API}/articles/").json()["results"]
    assert {a["title"] for a in mine} == {"VPN 连接指南", "销售配额"}  # the draft is not listed


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("space=it", ["VPN 连接指南"]),
        ("space=sales", ["销售配额"]),
        ("space=nope", []),
        ("tag=vpn", ["VPN 连接指南"]),
        ("tag=ＶＰＮ", ["VPN 连接指南"]),  # full width, upper case: folded as tags are
        ("tag=other", []),
        ("owner=zhangwei", ["VPN 连接指南"]),
        ("owner=admin", ["销售配额"]),
        ("updated_since=2000-01-01T00:00:00Z", ["销售配额", "VPN 连接指南"]),
        ("updated_since=2999-01-01T00:00:00Z", []),
    ],
)
def test_the_article_list_filters(people, kb, query: str, titles: list[str]) -> None:
    answer = client_of(people["employee"]).get(f"{API}/articles/?{query}")
    assert answer.status_code == 200, answer.json()
    assert [a["title"] for a in answer.json()["results"]] == titles


def test_the_article_list_pages_by_keyset(people, kb) -> None:
    admin = people["admin"]
    for number in range(3):
        extra = services.article_create(
            by=admin, space_id=kb["it"].pk, title=f"Page {number}", body="text"
        )
        services.article_publish(by=admin, article_id=extra.pk)
    client = client_of(people["outsider"])  # reads IT and HR, not Sales: 4 articles
    first = client.get(f"{API}/articles/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2
    ids = [a["id"] for a in first["results"] + second["results"]]
    assert len(set(ids)) == 4
    if second["next"]:  # a last page may be empty
        assert client.get(second["next"]).json()["results"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=0001-01-01", "updated_since"),
        ("page_size=0", "page_size"),
        ("page_size=x", "page_size"),
        ("cursor=!!!", "cursor"),
        ("space=not%20a%20key", "space"),
    ],
)
def test_a_bad_list_parameter_is_a_field_error(people, kb, query: str, field: str) -> None:
    answer = client_of(people["employee"]).get(f"{API}/articles/?{query}")
    assert answer.status_code == 400
    assert list(fields_of(answer)) == [field]


def test_a_reader_gets_the_published_version_an_editor_the_working_copy(people, kb) -> None:
    vpn = kb["vpn"]
    services.article_save(
        by=people["employee"], article_id=vpn.pk, title="VPN 连接指南（新）", body="新的草稿"
    )
    reader = client_of(people["colleague"]).get(f"{API}/articles/{vpn.pk}").json()
    assert reader["title"] == "VPN 连接指南"
    assert reader["version"] == 1 and reader["working_copy"] is False
    assert reader["review_state"] is None and reader["latest_version"] is None
    assert "<h2>VPN</h2>" in reader["body_html"]
    assert reader["tags"] == ["vpn", "远程办公"]
    editor = client_of(people["employee"]).get(f"{API}/articles/{vpn.pk}").json()
    assert editor["title"] == "VPN 连接指南（新）"
    assert editor["version"] == 2 and editor["working_copy"] is True
    assert editor["published_version"] == 1
    assert editor["review_state"] == "none"


def test_what_one_may_not_see_is_not_found(people, kb) -> None:
    outsider = client_of(people["outsider"])
    colleague = client_of(people["colleague"])
    assert outsider.get(f"{API}/articles/{kb['quota'].pk}").status_code == 404  # another dept
    assert colleague.get(f"{API}/articles/{kb['draft'].pk}").status_code == 404  # a draft
    assert colleague.get(f"{API}/articles/999999").status_code == 404
    # the same for every operation on them, writes included
    for method, suffix in [
        ("PUT", ""),
        ("DELETE", ""),
        ("GET", "/versions"),
        ("GET", "/versions/1"),
        ("POST", "/versions/1/restore"),
        ("POST", "/publish"),
        ("POST", "/submit"),
        ("POST", "/feedback"),
    ]:
        answer = send(outsider, method, f"{API}/articles/{kb['quota'].pk}{suffix}")
        assert answer.status_code == 404, (method, suffix)
    assert Article.objects.get(pk=kb["quota"].pk).latest_number == 1


# --- writing -------------------------------------------------------------------------------------


def test_an_editor_creates_an_article_as_a_draft(people, kb) -> None:
    answer = send(
        client_of(people["employee"]),
        "POST",
        f"{API}/articles/",
        {"space": "it", "title": "邮箱设置", "body": "设置 **Outlook**。", "tags": ["邮箱"]},
    )
    assert answer.status_code == 201, answer.json()
    data = answer.json()
    assert data["version"] == 1 and data["published_version"] is None
    assert data["review_state"] == "none"
    assert "<strong>Outlook</strong>" in data["body_html"]
    article = Article.objects.get(pk=data["id"])
    assert article.owner == people["employee"]
    assert AuditEvent.objects.filter(article=article, action="created").exists()


def test_creating_needs_the_editors_role(people, kb) -> None:
    before = Article.objects.count()
    body = {"space": "it", "title": "t", "body": "b"}
    answer = send(client_of(people["colleague"]), "POST", f"{API}/articles/", body)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "permission_denied"
    hidden = send(
        client_of(people["outsider"]), "POST", f"{API}/articles/", {**body, "space": "sales"}
    )
    assert hidden.status_code == 400  # a space one may not read is no space at all
    assert list(fields_of(hidden)) == ["space"]
    assert Article.objects.count() == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["space", "title", "body"]),
        ({"space": "it", "title": "", "body": "b"}, ["title"]),
        ({"space": "it", "title": "x" * 201, "body": "b"}, ["title"]),
        ({"space": "it", "title": "t", "body": "b", "tags": "vpn"}, ["tags"]),
        ({"space": "it", "title": "t", "body": "b", "tags": [1, {}]}, ["tags.1"]),
        ({"space": "it", "title": "t", "body": "b", "lang": "fr"}, ["lang"]),
        ({"space": "it", "title": "t", "body": "b", "summary": "s" * 501}, ["summary"]),
    ],
)
def test_bad_article_input_is_a_field_error(people, kb, body, fields) -> None:
    before = Article.objects.count()
    answer = send(client_of(people["employee"]), "POST", f"{API}/articles/", body)
    assert answer.status_code == 400
    assert sorted(fields_of(answer)) == sorted(fields)
    assert Article.objects.count() == before


def test_a_save_is_a_new_version(people, kb) -> None:
    vpn = kb["vpn"]
    answer = send(
        client_of(people["employee"]),
        "PUT",
        f"{API}/articles/{vpn.pk}",
        {
            "title": "VPN 指南",
            "body": "新内容",
            "tags": ["vpn"],
            "note": "改标题",
            "base_version": 1,
        },
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["version"] == 2
    assert [v.number for v in selectors.versions_of(vpn)] == [2, 1]
    newest = selectors.versions_of(vpn).first()
    assert newest is not None and newest.note == "改标题"


def test_a_save_on_a_stale_version_is_a_conflict(people, kb) -> None:
    vpn = kb["vpn"]
    services.article_save(by=people["admin"], article_id=vpn.pk, title="VPN", body="someone else")
    answer = send(
        client_of(people["employee"]),
        "PUT",
        f"{API}/articles/{vpn.pk}",
        {"title": "VPN 指南", "body": "mine", "base_version": 1},
    )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "conflict" and error["message"]
    assert Article.objects.get(pk=vpn.pk).body == "someone else"


def test_a_save_needs_the_editors_role(people, kb) -> None:
    vpn = kb["vpn"]
    answer = send(
        client_of(people["colleague"]),
        "PUT",
        f"{API}/articles/{vpn.pk}",
        {"title": "x", "body": "y"},
    )
    assert answer.status_code == 403
    empty = send(client_of(people["employee"]), "PUT", f"{API}/articles/{vpn.pk}", {})
    assert empty.status_code == 400
    assert sorted(fields_of(empty)) == ["body", "title"]
    assert Article.objects.get(pk=vpn.pk).latest_number == 1


def test_versions_are_for_those_who_work_on_the_article(people, kb) -> None:
    vpn = kb["vpn"]
    services.article_save(by=people["employee"], article_id=vpn.pk, title="VPN v2", body="v2")
    editor = client_of(people["employee"])
    listed = editor.get(f"{API}/articles/{vpn.pk}/versions").json()
    assert [(v["number"], v["published"]) for v in listed["results"]] == [(2, False), (1, True)]
    one = editor.get(f"{API}/articles/{vpn.pk}/versions/2").json()
    assert one["title"] == "VPN v2" and one["author"] == "zhangwei"
    assert editor.get(f"{API}/articles/{vpn.pk}/versions/9").status_code == 404
    reader = client_of(people["colleague"])
    assert reader.get(f"{API}/articles/{vpn.pk}/versions").status_code == 403
    assert reader.get(f"{API}/articles/{vpn.pk}/versions/1").status_code == 200  # published
    assert reader.get(f"{API}/articles/{vpn.pk}/versions/2").status_code == 404  # a draft


def test_restoring_a_version_makes_it_the_next_one(people, kb) -> None:
    vpn = kb["vpn"]
    services.article_save(by=people["employee"], article_id=vpn.pk, title="VPN v2", body="v2")
    answer = send(
        client_of(people["employee"]), "POST", f"{API}/articles/{vpn.pk}/versions/1/restore"
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["number"] == 3 and answer.json()["restored_from"] == 1
    assert Article.objects.get(pk=vpn.pk).title == "VPN 连接指南"
    refused = send(
        client_of(people["colleague"]), "POST", f"{API}/articles/{vpn.pk}/versions/1/restore"
    )
    assert refused.status_code == 403
    missing = send(
        client_of(people["employee"]), "POST", f"{API}/articles/{vpn.pk}/versions/42/restore"
    )
    assert missing.status_code in (400, 404)
    assert Article.objects.get(pk=vpn.pk).latest_number == 3


def test_an_editor_publishes_in_a_space_without_review(people, kb) -> None:
    draft = kb["draft"]
    answer = send(client_of(people["employee"]), "POST", f"{API}/articles/{draft.pk}/publish")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["published_version"] == 1
    assert answer.json()["review_state"] == "published"
    # now the colleague reads it
    assert client_of(people["colleague"]).get(f"{API}/articles/{draft.pk}").status_code == 200


def test_in_a_space_that_reviews_publish_is_refused_and_submit_starts_the_review(
    people, kb
) -> None:
    manager = client_of(people["manager"])
    created = send(
        manager, "POST", f"{API}/articles/", {"space": "hr", "title": "年假", "body": "每年 5 天。"}
    )
    article_id = created.json()["id"]
    refused = send(manager, "POST", f"{API}/articles/{article_id}/publish")
    assert refused.status_code == 409
    assert Article.objects.get(pk=article_id).published_version is None
    submitted = send(manager, "POST", f"{API}/articles/{article_id}/submit", {"comment": "请审核"})
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["review_instance_id"]
    assert submitted.json()["article"]["review_state"] == "in_review"


def test_submit_in_a_space_without_review_is_refused(people, kb) -> None:
    answer = send(client_of(people["employee"]), "POST", f"{API}/articles/{kb['draft'].pk}/submit")
    assert answer.status_code == 409


def test_delete_moves_to_the_recycle_bin(people, kb) -> None:
    vpn = kb["vpn"]
    refused = send(client_of(people["colleague"]), "DELETE", f"{API}/articles/{vpn.pk}")
    assert refused.status_code == 403
    answer = send(client_of(people["employee"]), "DELETE", f"{API}/articles/{vpn.pk}")
    assert answer.status_code == 204
    assert Article.objects.get(pk=vpn.pk).deleted_at is not None
    assert client_of(people["employee"]).get(f"{API}/articles/{vpn.pk}").status_code == 404


def test_feedback_once_per_reader(people, kb) -> None:
    vpn = kb["vpn"]
    client = client_of(people["colleague"])
    first = send(
        client, "POST", f"{API}/articles/{vpn.pk}/feedback", {"helpful": True, "comment": "有用"}
    )
    assert first.status_code == 200, first.json()
    assert (first.json()["helpful_count"], first.json()["not_helpful_count"]) == (1, 0)
    again = send(client, "POST", f"{API}/articles/{vpn.pk}/feedback", {"helpful": False})
    assert (again.json()["helpful_count"], again.json()["not_helpful_count"]) == (0, 1)
    assert Feedback.objects.filter(article=vpn).count() == 1
    bad = send(client, "POST", f"{API}/articles/{vpn.pk}/feedback", {"comment": "c" * 1001})
    assert bad.status_code == 400
    assert sorted(fields_of(bad)) == ["comment", "helpful"]


# --- search ---------------------------------------------------------------------------------------


def test_search_finds_ranked_results_with_marked_snippets(people, kb) -> None:
    answer = client_of(people["colleague"]).get(f"{API}/search/?q=VPN")
    assert answer.status_code == 200
    data = answer.json()
    assert data["total"] == 1
    [hit] = data["results"]
    assert hit["id"] == kb["vpn"].pk and hit["space"] == "it"
    assert "<mark>" in hit["snippet"] + hit["title_html"]
    assert hit["score"] > 0


def test_search_keeps_to_what_one_reads(people, kb) -> None:
    outsider = client_of(people["outsider"])
    assert outsider.get(f"{API}/search/?q=销售配额").json()["total"] == 0
    assert outsider.get(f"{API}/search/?q=VPN&space=sales").json() == {
        "results": [],
        "total": 0,
        "capped": False,
    }
    assert client_of(people["employee"]).get(f"{API}/search/?q=配额").json()["total"] == 1


def test_search_filters_by_space_and_tag(people, kb) -> None:
    client = client_of(people["employee"])
    assert client.get(f"{API}/search/?q=VPN&space=it").json()["total"] == 1
    assert client.get(f"{API}/search/?q=VPN&space=hr").json()["total"] == 0
    assert client.get(f"{API}/search/?q=VPN&tag=远程办公").json()["total"] == 1
    assert client.get(f"{API}/search/?q=VPN&tag=other").json()["total"] == 0


@pytest.mark.parametrize("limit", ["0", "51", "-1", "x", "1.5", "99999999999999999999"])
def test_a_bad_limit_is_a_field_error(people, kb, limit: str) -> None:
    answer = client_of(people["employee"]).get(f"{API}/search/?q=VPN&limit={limit}")
    assert answer.status_code == 400
    assert list(fields_of(answer)) == ["limit"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "' OR 1=1 --",
        'NEAR(vpn "x"',
        '"',
        "*",
        "vpn AND",
        "a" * 10_000,
        "😀🚀",
        "，。！？……",
        "%00",
        "%25",
        "%5C",
        "VPN%00VPN",
    ],
)
def test_any_query_answers_results_or_nothing(people, kb, query: str) -> None:
    answer = client_of(people["employee"]).get(f"{API}/search/?q={query}")
    assert answer.status_code == 200
    assert set(answer.json()) == {"results", "total", "capped"}


# --- schema, scopes, throttles ------------------------------------------------------------------

OPERATIONS = {
    ("/api/v1/knowledge/spaces/", "get"),
    ("/api/v1/knowledge/spaces/{space_key}", "get"),
    ("/api/v1/knowledge/articles/", "get"),
    ("/api/v1/knowledge/articles/", "post"),
    ("/api/v1/knowledge/articles/{article_id}", "get"),
    ("/api/v1/knowledge/articles/{article_id}", "put"),
    ("/api/v1/knowledge/articles/{article_id}", "delete"),
    ("/api/v1/knowledge/articles/{article_id}/versions", "get"),
    ("/api/v1/knowledge/articles/{article_id}/versions/{number}", "get"),
    ("/api/v1/knowledge/articles/{article_id}/versions/{number}/restore", "post"),
    ("/api/v1/knowledge/articles/{article_id}/publish", "post"),
    ("/api/v1/knowledge/articles/{article_id}/submit", "post"),
    ("/api/v1/knowledge/articles/{article_id}/feedback", "post"),
    ("/api/v1/knowledge/search/", "get"),
}


def test_every_operation_is_in_the_schema_with_its_types() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {
        (path, method)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/knowledge/")
        for method in item
    }
    assert found == OPERATIONS
    paths = schema["paths"]
    search = paths["/api/v1/knowledge/search/"]["get"]
    assert {p["name"] for p in search["parameters"]} >= {"q", "space", "tag", "limit"}
    ok = search["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/SearchResult"}
    create = paths["/api/v1/knowledge/articles/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ArticleCreateInputRequest"
    }
    update = paths["/api/v1/knowledge/articles/{article_id}"]["put"]
    assert "409" in update["responses"]
    for path, method in OPERATIONS:
        operation = paths[path][method]
        assert operation["summary"], (path, method)
        assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }


def _token(user: User, scope: str) -> str:
    application = Application.objects.create(
        name="KB",
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    bearer = secrets.token_urlsafe(32)
    AccessToken.objects.create(
        user=user,
        application=application,
        token=bearer,
        scope=scope,
        expires=timezone.now() + datetime.timedelta(hours=1),
    )
    return bearer


def test_a_read_token_reads_but_does_not_write(people, kb) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {_token(people['employee'], 'read')}")
    assert client.get(f"{API}/search/?q=VPN").status_code == 200
    answer = send(client, "POST", f"{API}/articles/", {"space": "it", "title": "t", "body": "b"})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "insufficient_scope"
    writer = Client(HTTP_AUTHORIZATION=f"Bearer {_token(people['employee'], 'read write')}")
    created = send(writer, "POST", f"{API}/articles/", {"space": "it", "title": "t", "body": "b"})
    assert created.status_code == 201


def test_anonymous_callers_get_401(kb) -> None:
    answer = Client().get(f"{API}/search/?q=VPN")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"


def test_the_api_is_throttled_like_the_rest(people, kb, settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "2/min"},
    }
    client = client_of(people["employee"])
    assert [client.get(f"{API}/search/?q=VPN").status_code for _ in range(2)] == [200, 200]
    answer = client.get(f"{API}/spaces/")
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "throttled"
    assert int(answer["Retry-After"]) > 0
