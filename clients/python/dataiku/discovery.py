"""Where the server is and which credential to present, in the order of the DSS client packages:

0. ``set_remote_dss(url, api_key)`` called earlier in this process;
1. ``DKU_API_TICKET`` (set by the job runner for code it runs as a user), with the server at
   ``{DKU_BACKEND_PROTOCOL or http}://{DKU_BACKEND_HOST or 127.0.0.1}:{DKU_BACKEND_PORT}``;
2. ``DKU_DSS_URL`` and ``DKU_API_KEY`` (and ``DKU_NO_CHECK_CERTIFICATE``);
3. ``~/.dataiku/config.json``, instance ``DKU_DEFAULT_INSTANCE`` or ``"default_instance"``.

A source that is only half configured is an error rather than a fall-through to the next one, which
could silently act as another user or against another server. Nothing is cached: the environment and
the file are read on every ``api_client()`` call.
"""

import json
import os
import re

from .errors import DataikuConfigError

_remote = None

_TRUTHY = ("1", "true", "yes", "y", "on")


def _truthy(value):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in _TRUTHY


def _env(name):
    value = os.environ.get(name, "")
    return value if value.strip() else None


def _base_url(url, what):
    if not isinstance(url, str) or not url.strip():
        raise DataikuConfigError("%s must be a non-empty URL" % what)
    url = url.strip()
    if not re.match(r"^https?://[^/]+", url, re.IGNORECASE):
        raise DataikuConfigError(
            '%s must start with http:// or https:// and name a host (got "%s")' % (what, url)
        )
    return url.rstrip("/")


def config_path():
    """``~/.dataiku/config.json`` of the current user (``HOME``, or ``USERPROFILE`` on Windows)."""
    return os.path.join(os.path.expanduser("~"), ".dataiku", "config.json")


class Location(object):
    """A server URL and a credential, and where they came from (for error messages)."""

    def __init__(self, url, api_key=None, ticket=None, no_check_certificate=False, source=""):
        self.url = url
        self.api_key = api_key
        self.ticket = ticket
        self.no_check_certificate = no_check_certificate
        self.source = source

    def __repr__(self):
        return "Location(%r, %s, source=%r)" % (self.url, "ticket" if self.ticket else "api_key", self.source)


def set_remote_dss(url, api_key, no_check_certificate=False):
    """Use this server and personal API key from now on in this process, ahead of everything else."""
    base = _base_url(url, "url")
    if not isinstance(api_key, str) or not api_key.strip():
        raise DataikuConfigError("api_key must be a non-empty string (a personal API key)")
    if not isinstance(no_check_certificate, bool):
        raise DataikuConfigError("no_check_certificate must be True or False")
    global _remote
    _remote = Location(base, api_key=api_key, no_check_certificate=no_check_certificate, source="set_remote_dss()")


def clear_remote_dss():
    """Forgets an earlier ``set_remote_dss()``: discovery goes back to the environment."""
    global _remote
    _remote = None


def _from_ticket(ticket):
    port = _env("DKU_BACKEND_PORT")
    if port is None:
        raise DataikuConfigError(
            "DKU_API_TICKET is set but DKU_BACKEND_PORT is not: both are set for code that the server runs; "
            "outside a job, unset DKU_API_TICKET and set DKU_DSS_URL and DKU_API_KEY instead"
        )
    port = port.strip()
    if not re.match(r"^[0-9]{1,5}$", port):
        raise DataikuConfigError('DKU_BACKEND_PORT must be a port number (got "%s")' % port)
    host = (_env("DKU_BACKEND_HOST") or "127.0.0.1").strip()
    protocol = (_env("DKU_BACKEND_PROTOCOL") or "http").strip().lower()
    if protocol not in ("http", "https"):
        raise DataikuConfigError('DKU_BACKEND_PROTOCOL must be http or https (got "%s")' % protocol)
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host  # a bare IPv6 address
    return Location(
        "%s://%s:%s" % (protocol, host, port),
        ticket=ticket,
        no_check_certificate=_truthy(_env("DKU_NO_CHECK_CERTIFICATE")),
        source="DKU_API_TICKET and DKU_BACKEND_HOST/DKU_BACKEND_PORT",
    )


def _from_env(url, key):
    if url is None:
        raise DataikuConfigError("DKU_API_KEY is set but DKU_DSS_URL is not: set DKU_DSS_URL to the server's address too")
    if key is None:
        raise DataikuConfigError("DKU_DSS_URL is set but DKU_API_KEY is not: set DKU_API_KEY to a personal API key too")
    return Location(
        _base_url(url, "DKU_DSS_URL"),
        api_key=key.strip(),
        no_check_certificate=_truthy(_env("DKU_NO_CHECK_CERTIFICATE")),
        source="DKU_DSS_URL and DKU_API_KEY",
    )


def _from_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as err:
        raise DataikuConfigError("could not read %s as JSON: %s" % (path, err)) from None
    instances = config.get("dss_instances") if isinstance(config, dict) else None
    if not isinstance(instances, dict) or not instances:
        raise DataikuConfigError(
            '%s has no "dss_instances" object: expected {"dss_instances": {"<name>": {"url": ..., '
            '"api_key": ...}}, "default_instance": "<name>"}' % path
        )
    names = ", ".join('"%s"' % n for n in instances)
    name = _env("DKU_DEFAULT_INSTANCE")
    chosen_by = "DKU_DEFAULT_INSTANCE"
    if name is None:
        name = config.get("default_instance")
        chosen_by = '"default_instance"'
    if not isinstance(name, str) or not name:
        raise DataikuConfigError(
            '%s names no instance to use: set "default_instance" (or DKU_DEFAULT_INSTANCE) to one of %s'
            % (path, names)
        )
    instance = instances.get(name)
    if not isinstance(instance, dict):
        raise DataikuConfigError('%s has no instance "%s" (named by %s); it has %s' % (path, name, chosen_by, names))
    for field in ("url", "api_key"):
        value = instance.get(field)
        if not isinstance(value, str) or not value.strip():
            raise DataikuConfigError('instance "%s" in %s has no "%s"' % (name, path, field))
    return Location(
        _base_url(instance["url"], 'the url of instance "%s" in %s' % (name, path)),
        api_key=instance["api_key"].strip(),
        no_check_certificate=_truthy(instance.get("no_check_certificate")),
        source='%s (instance "%s")' % (path, name),
    )


def locate():
    """The Location to use, found in the order described at the top of this module."""
    if _remote is not None:
        return _remote
    ticket = _env("DKU_API_TICKET")
    if ticket is not None:
        return _from_ticket(ticket.strip())
    url, key = _env("DKU_DSS_URL"), _env("DKU_API_KEY")
    if url is not None or key is not None:
        return _from_env(url, key)
    path = config_path()
    if os.path.exists(path):
        return _from_config(path)
    raise DataikuConfigError(
        "no server to talk to: call dataiku.set_remote_dss(url, api_key), or set the environment variables "
        "DKU_DSS_URL (the server's address) and DKU_API_KEY (a personal API key), or create %s with "
        '{"dss_instances": {"default": {"url": ..., "api_key": ...}}, "default_instance": "default"}. '
        "Code run by the server as a job gets DKU_API_TICKET, DKU_BACKEND_HOST and DKU_BACKEND_PORT instead."
        % path
    )
