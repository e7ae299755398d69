"""Typed readers for environment variables.

Every setting of the portal comes from the environment through these helpers. A value
that cannot be read as the type asked for stops the process at start-up with a message
that names the variable, so a typo in a deployment never turns into a silent default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping


class ImproperlyConfiguredEnv(Exception):
    """An environment variable holds a value the portal cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(
        f"{name}={value!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={number} is below the minimum {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfiguredEnv(f"{name}={number} is above the maximum {maximum}.")
    return number


def env_list(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    value = _raw(name, environ)
    if value is None or value == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(
    name: str,
    default: str,
    choices: Mapping[str, str],
    *,
    allow_dotted_path: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Read a short name and return what it maps to (e.g. ``console`` -> a backend path).

    With ``allow_dotted_path`` a value such as ``mycompany.sms.Backend`` names a custom
    implementation and is returned as it is.
    """
    value = env_str(name, default, environ=environ)
    if value in choices:
        return choices[value]
    if allow_dotted_path and re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", value):
        return value
    known = ", ".join(sorted(choices))
    extra = " (or a dotted path to a class)" if allow_dotted_path else ""
    raise ImproperlyConfiguredEnv(f"{name}={value!r} is not one of: {known}{extra}.")
