"""The knowledge base's serializers: they validate and shape, never save.

Input serializers check what a caller sent (field errors in the common error body, under the
names the API uses); output serializers read the plain dictionaries and rows the views hand
them. A reader sees an article's published version, an editor its working copy: the views
build :func:`article_data` for the one the caller may see, the serializers only shape it.
"""

from __future__ import annotations

import datetime
from typing import Any

from rest_framework import serializers

from knowledge import search, services
from knowledge.models import Language, Visibility
from portal.api import page_serializer
from workflow.selectors.inbox import validate_filter_date

# What the services take (``knowledge.services``): the same limits, said before they are asked.
TITLE_MAX = services.MAX_TITLE
SUMMARY_MAX = services.MAX_SUMMARY
BODY_MAX = services.MAX_BODY
TAG_MAX = services.MAX_TAG
TAGS_MAX = services.MAX_TAGS
COMMENT_MAX = services.MAX_COMMENT
NOTE_MAX = services.MAX_NOTE
SEARCH_LIMIT_MAX = search.MAX_LIMIT

REVIEW_STATES = ["none", "in_review", "returned", "rejected", "published"]
SPACE_PERMISSIONS = ["read_space", "edit_space", "review_space", "admin_space"]


class FilterDateTimeField(serializers.DateTimeField):
    """A moment a list is filtered by: outside ``validate_filter_date``'s range it is the
    field's error, checked before DRF makes it aware (DRF converts a naive value to UTC,
    which overflows near year 1: a 500, issue 13)."""

    def enforce_timezone(self, value: datetime.datetime) -> datetime.datetime:
        validate_filter_date(value)
        return super().enforce_timezone(value)


class QueryTextField(serializers.CharField):
    """Search text as typed: any length and any characters; a NUL (which no database column
    takes) is dropped rather than refused, so a query never answers an error."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # DRF's CharField refuses "\x00" with a validator; a search drops it instead
        self.validators = [
            v for v in self.validators if type(v).__name__ != "ProhibitNullCharactersValidator"
        ]

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(data)).replace("\x00", "")


def tag_list_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX, trim_whitespace=True),
        max_length=TAGS_MAX,
        required=False,
        default=list,
        help_text='tags, e.g. ["VPN", "远程办公"]; stored case-folded',
    )


# --- spaces ---------------------------------------------------------------------------------------


class SpaceSerializer(serializers.Serializer[Any]):
    key = serializers.SlugField()
    name = serializers.CharField(help_text="in Chinese")
    name_en = serializers.CharField(allow_blank=True)
    display_name = serializers.CharField(help_text="in the caller's language")
    description = serializers.CharField(allow_blank=True)
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    requires_review = serializers.BooleanField()
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=SPACE_PERMISSIONS),
        help_text="what the caller may do in the space",
    )


class TagCountSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="published articles with the tag")


class SpaceDetailSerializer(SpaceSerializer):
    tags = TagCountSerializer(many=True)


# --- articles -------------------------------------------------------------------------------------


class ArticleListQuerySerializer(serializers.Serializer[Any]):
    space = serializers.SlugField(required=False, help_text="a space's key")
    tag = serializers.CharField(required=False, max_length=TAG_MAX)
    owner = serializers.CharField(required=False, max_length=150, help_text="a user name")
    updated_since = FilterDateTimeField(
        required=False, help_text="published (or updated and republished) at or after"
    )


class ArticleBriefSerializer(serializers.Serializer[Any]):
    """An article in a list: its published version."""

    id = serializers.IntegerField()
    space = serializers.SlugField(help_text="the space's key")
    space_name = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField(allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField())
    lang = serializers.ChoiceField(choices=Language.choices)
    owner = serializers.CharField(help_text="the owner's user name")
    version = serializers.IntegerField(help_text="the published version's number")
    updated_at = serializers.DateTimeField(help_text="when that version was published")


ArticlePageSerializer = page_serializer(ArticleBriefSerializer, "KnowledgeArticlePage")


class ArticleSerializer(serializers.Serializer[Any]):
    """An article as the caller may see it: readers its published version, editors,
    reviewers and space admins (and its owner) the working copy with its review state."""

    id = serializers.IntegerField()
    space = serializers.SlugField(help_text="the space's key")
    space_name = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField(allow_blank=True)
    body = serializers.CharField(allow_blank=True, help_text="Markdown")
    body_html = serializers.CharField(allow_blank=True, help_text="sanitized HTML")
    tags = serializers.ListField(child=serializers.CharField())
    lang = serializers.ChoiceField(choices=Language.choices)
    owner = serializers.CharField(help_text="the owner's user name")
    version = serializers.IntegerField(help_text="the number of the version shown")
    working_copy = serializers.BooleanField(
        help_text="true: the latest version (editors); false: the published one"
    )
    latest_version = serializers.IntegerField(allow_null=True, help_text="editors only")
    published_version = serializers.IntegerField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(
        help_text="editors: the latest save; readers: when the version shown was published"
    )
    review_state = serializers.ChoiceField(
        choices=REVIEW_STATES, allow_null=True, help_text="editors only; null for readers"
    )
    review_date = serializers.DateField(allow_null=True)
    may_be_outdated = serializers.BooleanField()
    helpful_count = serializers.IntegerField()
    not_helpful_count = serializers.IntegerField()
    view_count = serializers.IntegerField()


class ArticleCreateInputSerializer(serializers.Serializer[Any]):
    space = serializers.SlugField(max_length=40, help_text="the space's key")
    title = serializers.CharField(max_length=TITLE_MAX)
    body = serializers.CharField(max_length=BODY_MAX, help_text="Markdown")
    summary = serializers.CharField(
        max_length=SUMMARY_MAX, required=False, default="", allow_blank=True
    )
    tags = tag_list_field()
    lang = serializers.ChoiceField(
        choices=Language.choices, required=False, default=Language.CHINESE
    )
    note = serializers.CharField(max_length=NOTE_MAX, required=False, default="", allow_blank=True)


class ArticleSaveInputSerializer(serializers.Serializer[Any]):
    """A save: the whole text again; it becomes the next version."""

    title = serializers.CharField(max_length=TITLE_MAX)
    body = serializers.CharField(max_length=BODY_MAX, help_text="Markdown")
    summary = serializers.CharField(
        max_length=SUMMARY_MAX, required=False, default="", allow_blank=True
    )
    tags = tag_list_field()
    lang = serializers.ChoiceField(
        choices=Language.choices, required=False, help_text="absent: unchanged"
    )
    note = serializers.CharField(
        max_length=NOTE_MAX, required=False, default="", allow_blank=True, help_text="what changed"
    )
    base_version = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "the version the text was edited from: when another version was saved since, "
            "the save answers 409 `conflict` and nothing is saved"
        ),
    )


class VersionBriefSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField()
    title = serializers.CharField()
    author = serializers.CharField(help_text="the author's user name")
    note = serializers.CharField(allow_blank=True)
    restored_from = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    published = serializers.BooleanField(help_text="the version readers see")


VersionPageSerializer = page_serializer(VersionBriefSerializer, "KnowledgeVersionPage")


class VersionSerializer(VersionBriefSerializer):
    summary = serializers.CharField(allow_blank=True)
    body = serializers.CharField(allow_blank=True, help_text="Markdown")
    body_html = serializers.CharField(allow_blank=True, help_text="sanitized HTML")
    tags = serializers.ListField(child=serializers.CharField())


class PublishInputSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="default: the latest"
    )


class SubmitInputSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(
        max_length=COMMENT_MAX, required=False, default="", allow_blank=True
    )


class SubmitResultSerializer(serializers.Serializer[Any]):
    article = ArticleSerializer()
    review_instance_id = serializers.IntegerField(help_text="the review on the workflow engine")


class FeedbackInputSerializer(serializers.Serializer[Any]):
    helpful = serializers.BooleanField()
    comment = serializers.CharField(
        max_length=COMMENT_MAX, required=False, default="", allow_blank=True
    )


class FeedbackSerializer(serializers.Serializer[Any]):
    helpful = serializers.BooleanField()
    comment = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    helpful_count = serializers.IntegerField(help_text="the article's, this one included")
    not_helpful_count = serializers.IntegerField()


# --- search ---------------------------------------------------------------------------------------


class SearchQuerySerializer(serializers.Serializer[Any]):
    q = QueryTextField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        help_text="words in Chinese or English, identifiers, numbers; the last word as a prefix",
    )
    space = serializers.SlugField(required=False, help_text="a space's key")
    tag = serializers.CharField(required=False, max_length=TAG_MAX)
    limit = serializers.IntegerField(
        required=False, default=10, min_value=1, max_value=SEARCH_LIMIT_MAX
    )


class SearchHitSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="the article's id")
    title = serializers.CharField()
    title_html = serializers.CharField(help_text="the title with the matched words in <mark>")
    space = serializers.SlugField(help_text="the space's key")
    space_name = serializers.CharField()
    snippet = serializers.CharField(
        allow_blank=True, help_text="HTML: a passage with the matched words in <mark>"
    )
    score = serializers.FloatField(help_text="higher is better")
    updated_at = serializers.DateTimeField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())


class SearchResultSerializer(serializers.Serializer[Any]):
    results = SearchHitSerializer(many=True)
    total = serializers.IntegerField(
        help_text="the matches the caller may read; with ``capped``, at least this many"
    )
    capped = serializers.BooleanField(
        help_text="a common word: only the newest matches were ranked and counted"
    )
