"""The one way the ERP bridge makes an HTTP session (the Tryton and HTTP adapters, webhook
deliveries): keep-alive, and the environment's proxy and CA settings read once, when the
session is made, not on every request. ``requests`` re-reads the environment (proxies,
``.netrc``, ``REQUESTS_CA_BUNDLE``) per request when ``trust_env`` is on: about 0.45 ms of
CPU per call, a tenth of the outbox's time per message (measured by bench/outbox.py)."""

from __future__ import annotations

import os

import requests

__all__ = ["session"]


def session(url: str) -> requests.Session:
    """A session for calls to ``url``'s host: the proxy the environment names for it (and
    ``NO_PROXY``), the CA bundle of ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` if set."""
    made = requests.Session()
    made.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        made.verify = bundle
    made.trust_env = False
    return made
