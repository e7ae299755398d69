"""Passwords are stored as Argon2id at OWASP's minimum memory cost (portal/hashers.py), and an
old PBKDF2 hash is upgraded at the next sign-in (issue 16, item 4)."""

from __future__ import annotations

import secrets

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password

from portal.models import User


@pytest.fixture
def real_hashers(settings):
    """The production hashers (the suite's conftest uses MD5 for speed)."""
    from portal import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS


def test_a_new_password_is_argon2id_at_owasp_minimum_memory(real_hashers):
    encoded = make_password(secrets.token_urlsafe(12))
    assert encoded.startswith("argon2$argon2id$")
    assert "m=19456,t=3,p=1" in encoded
    assert identify_hasher(encoded).algorithm == "argon2"


@pytest.mark.django_db
def test_an_old_pbkdf2_hash_is_upgraded_at_the_next_sign_in(real_hashers, client):
    password = secrets.token_urlsafe(12)
    person = User.objects.create(
        username="old_timer", password=make_password(password, hasher="pbkdf2_sha256")
    )
    assert person.password.startswith("pbkdf2_sha256$")
    response = client.post("/accounts/login/", {"username": "old_timer", "password": password})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.password.startswith("argon2$argon2id$")
    assert "m=19456,t=3,p=1" in person.password
    assert person.check_password(password)
