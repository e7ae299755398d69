"""The typed environment readers of ``portal.env``: good values parse, bad ones stop
start-up with a message that names the variable."""

from __future__ import annotations

import pytest

from portal.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
)

# --- env_str -----------------------------------------------------------------------------


def test_env_str_reads_and_strips_value():
    assert env_str("NAME", "dflt", environ={"NAME": "  portal  "}) == "portal"


@pytest.mark.parametrize("environ", [{}, {"NAME": ""}, {"NAME": "   "}])
def test_env_str_falls_back_to_default_when_missing_or_blank(environ):
    assert env_str("NAME", "dflt", environ=environ) == "dflt"


def test_env_str_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("PORTAL_TEST_ENV_STR", "from-os")
    assert env_str("PORTAL_TEST_ENV_STR") == "from-os"
    monkeypatch.delenv("PORTAL_TEST_ENV_STR")
    assert env_str("PORTAL_TEST_ENV_STR", "gone") == "gone"


# --- env_bool ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "YES", "on", " on "])
def test_env_bool_true_values(raw):
    assert env_bool("FLAG", False, environ={"FLAG": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", ""])
def test_env_bool_false_values(raw):
    assert env_bool("FLAG", True, environ={"FLAG": raw}) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_missing_gives_default(default):
    assert env_bool("FLAG", default, environ={}) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "tru"])
def test_env_bool_bad_value_names_the_variable(raw):
    with pytest.raises(ImproperlyConfiguredEnv, match=r"^MY_FLAG=") as excinfo:
        env_bool("MY_FLAG", False, environ={"MY_FLAG": raw})
    assert repr(raw) in str(excinfo.value)
    assert "not a boolean" in str(excinfo.value)


# --- env_int -----------------------------------------------------------------------------


def test_env_int_reads_number():
    assert env_int("COUNT", 1, environ={"COUNT": " 42 "}) == 42
    assert env_int("COUNT", 1, environ={"COUNT": "-3"}) == -3


@pytest.mark.parametrize("environ", [{}, {"COUNT": ""}])
def test_env_int_missing_gives_default(environ):
    assert env_int("COUNT", 7, environ=environ) == 7


@pytest.mark.parametrize("raw", ["abc", "1.5", "1e3", "ten"])
def test_env_int_not_a_number_names_the_variable(raw):
    with pytest.raises(ImproperlyConfiguredEnv, match=r"^DB_CONN_MAX_AGE=.*not a whole number"):
        env_int("DB_CONN_MAX_AGE", 0, environ={"DB_CONN_MAX_AGE": raw})


def test_env_int_bounds_are_inclusive():
    environ = {"PORT": "1"}
    assert env_int("PORT", 25, minimum=1, maximum=65535, environ=environ) == 1
    assert env_int("PORT", 25, minimum=1, maximum=65535, environ={"PORT": "65535"}) == 65535


def test_env_int_below_minimum_names_the_variable():
    with pytest.raises(ImproperlyConfiguredEnv, match=r"^PORT=0 is below the minimum 1"):
        env_int("PORT", 25, minimum=1, environ={"PORT": "0"})


def test_env_int_above_maximum_names_the_variable():
    with pytest.raises(ImproperlyConfiguredEnv, match=r"^PORT=70000 is above the maximum 65535"):
        env_int("PORT", 25, maximum=65535, environ={"PORT": "70000"})


# --- env_list ----------------------------------------------------------------------------


def test_env_list_splits_strips_and_drops_empty_items():
    environ = {"HOSTS": " a.example.com, b.example.com ,,c ,"}
    assert env_list("HOSTS", [], environ=environ) == ["a.example.com", "b.example.com", "c"]


@pytest.mark.parametrize("environ", [{}, {"HOSTS": ""}, {"HOSTS": "  "}])
def test_env_list_missing_gives_a_copy_of_default(environ):
    default = ["localhost"]
    result = env_list("HOSTS", default, environ=environ)
    assert result == ["localhost"]
    result.append("changed")
    assert default == ["localhost"], "the caller's default must not be shared"


# --- env_choice --------------------------------------------------------------------------

BACKENDS = {"smtp": "path.Smtp", "console": "path.Console"}


def test_env_choice_maps_short_name():
    assert env_choice("MAIL", "smtp", BACKENDS, environ={"MAIL": "console"}) == "path.Console"


def test_env_choice_missing_uses_default_name():
    assert env_choice("MAIL", "smtp", BACKENDS, environ={}) == "path.Smtp"


def test_env_choice_unknown_value_lists_the_choices():
    with pytest.raises(ImproperlyConfiguredEnv) as excinfo:
        env_choice("MAIL", "smtp", BACKENDS, environ={"MAIL": "nonsense"})
    message = str(excinfo.value)
    assert message.startswith("MAIL='nonsense'")
    assert "console, smtp" in message
    assert "dotted path" not in message


def test_env_choice_dotted_path_refused_unless_allowed():
    environ = {"MAIL": "mycompany.mail.Backend"}
    with pytest.raises(ImproperlyConfiguredEnv, match=r"^MAIL="):
        env_choice("MAIL", "smtp", BACKENDS, environ=environ)
    result = env_choice("MAIL", "smtp", BACKENDS, allow_dotted_path=True, environ=environ)
    assert result == "mycompany.mail.Backend"


@pytest.mark.parametrize("raw", ["nonsense", "has space.Backend", "1abc.Backend", "trailing."])
def test_env_choice_bad_dotted_path_names_the_variable(raw):
    with pytest.raises(ImproperlyConfiguredEnv, match=r"^SMS_BACKEND=.*dotted path"):
        env_choice(
            "SMS_BACKEND", "dummy", BACKENDS, allow_dotted_path=True, environ={"SMS_BACKEND": raw}
        )
