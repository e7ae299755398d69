"""The search's quality on the evaluation set (``search_eval.py``: 153 articles, 74 queries
of the kinds issue 17 names): recall@5 and MRR@10 over all queries, at least 0.95 and 0.85,
on whichever database the suite runs (SQLite's FTS5, PostgreSQL's GIN).

- recall@5: of a query's relevant articles, the share found in the first five hits;
- MRR@10: the mean of 1 / the rank of the first relevant hit within ten (0 when none).

The articles go through the real index path (``knowledge.search.index_article``) and the
queries through ``knowledge.search.search`` as an ordinary employee who reads the public
spaces. A failure prints each query that missed, by kind.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from knowledge import search
from portal.models import User
from tests.knowledge import search_helpers
from tests.knowledge.search_eval import ARTICLES, QUERIES, SPACES

pytestmark = pytest.mark.django_db

RECALL_AT_5 = 0.95
MRR_AT_10 = 0.85


@pytest.fixture
def corpus(employee: User, outsider: User) -> dict[str, int]:
    """The evaluation articles, published over the last months, by key -> id."""
    spaces = {
        key: search_helpers.space(f"eval-{key}", name, visibility="public")
        for key, (name, _name_en) in SPACES.items()
    }
    start = timezone.now() - datetime.timedelta(days=len(ARTICLES))
    ids: dict[str, int] = {}
    for index, item in enumerate(ARTICLES):
        article = search_helpers.published(
            spaces[item.space],
            outsider,
            title=item.title,
            body=item.body,
            summary=item.summary,
            tags=item.tags,
            lang=item.lang,
            at=start + datetime.timedelta(days=index),
        )
        ids[item.key] = article.pk
    return ids


def test_the_evaluation_set_is_what_the_issue_asks() -> None:
    assert len(ARTICLES) >= 150
    assert sum(item.lang == "en" for item in ARTICLES) >= 20
    assert len(QUERIES) >= 40
    kinds = {query.kind for query in QUERIES}
    assert {"inside", "mixed", "identifier", "title", "english", "prefix"} <= kinds
    keys = {item.key for item in ARTICLES}
    assert len(keys) == len(ARTICLES)
    assert all(set(query.relevant) <= keys for query in QUERIES)


def test_recall_at_5_and_mrr_at_10(corpus: dict[str, int], employee: User) -> None:
    recalls: list[float] = []
    reciprocal_ranks: list[float] = []
    misses: list[str] = []
    names = {pk: key for key, pk in corpus.items()}
    for query in QUERIES:
        page = search.search(employee, query.text, limit=10)
        found = [names.get(hit.article_id, "?") for hit in page.hits]
        relevant = set(query.relevant)
        recall = len(relevant & set(found[:5])) / len(relevant)
        rank = next((i + 1 for i, key in enumerate(found) if key in relevant), None)
        recalls.append(recall)
        reciprocal_ranks.append(1 / rank if rank else 0.0)
        if recall < 1 or rank != 1:
            misses.append(
                f"[{query.kind}] {query.text!r}: want {sorted(relevant)}, got {found[:5]}"
            )
    recall_at_5 = sum(recalls) / len(recalls)
    mrr_at_10 = sum(reciprocal_ranks) / len(reciprocal_ranks)
    report = f"recall@5 {recall_at_5:.3f}, MRR@10 {mrr_at_10:.3f}\n" + "\n".join(misses)
    print(report)
    assert recall_at_5 >= RECALL_AT_5, report
    assert mrr_at_10 >= MRR_AT_10, report
