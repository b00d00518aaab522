"""DSSClient: the calls of dataikuapi's DSSClient that concern the user's identity, secrets and keys.

Requests are made as dataikuapi makes them: ``{host}/dip/publicapi/<path>``, an API key as HTTP Basic
(the key as user name, an empty password), a ticket as the header ``X-DKU-APITicket``, JSON bodies.
Only the Python standard library is used. Redirects are never followed: they would carry the
credential to another address (and turn a PUT into a GET).
"""

import base64
import datetime
import http.client
import json
import platform
import ssl
import urllib.error
import urllib.parse
import urllib.request

from .errors import DataikuConnectionError, DataikuException, DataikuProtocolError, SecretNotFound

__all__ = [
    "DSSClient",
    "DSSOwnUser",
    "DSSOwnUserSettings",
    "DSSPersonalApiKey",
    "DSSPersonalApiKeyListItem",
]

VERSION = "0.1.0"
DEFAULT_TIMEOUT = 120


def _check_header_value(value, what):
    """A credential goes into a header: refuse control characters without echoing the credential."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("%s must be a non-empty string" % what)
    if any(ord(c) < 32 or ord(c) >= 127 for c in value):
        raise ValueError("%s contains control or non-ASCII characters (a stray newline?)" % what)
    return value.strip()


def _query_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _first_string(*values):
    for v in values:
        if isinstance(v, str) and v.strip():
            return v
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status, handled as an error


class DSSClient(object):
    """A client of a Coffer (or DSS) server, authenticated by a personal API key or a ticket.

    ``DSSClient(host, api_key=None, internal_ticket=None, extra_headers=None, no_check_certificate=False,
    client_certificate=None, timeout=120)``: the arguments of dataikuapi's DSSClient, in its order.
    ``host`` is the server's base URL (a trailing slash is fine).
    """

    def __init__(
        self,
        host,
        api_key=None,
        internal_ticket=None,
        extra_headers=None,
        no_check_certificate=False,
        client_certificate=None,
        timeout=DEFAULT_TIMEOUT,
    ):
        if not isinstance(host, str) or not host.strip():
            raise ValueError("host must be the server's URL, e.g. https://coffer.example.com")
        host = host.strip()
        scheme = urllib.parse.urlsplit(host).scheme.lower()
        if scheme not in ("http", "https") or not urllib.parse.urlsplit(host).netloc:
            raise ValueError("host must start with http:// or https:// and name a server (got %r)" % host)
        self.host = host.rstrip("/")
        self.api_key = api_key
        self.internal_ticket = internal_ticket
        self.timeout = timeout
        self._headers = {
            "Accept": "application/json",
            "User-Agent": "coffer-python-dataiku/%s Python/%s" % (VERSION, platform.python_version()),
        }
        if api_key is not None:
            key = _check_header_value(api_key, "the API key")
            token = base64.b64encode(("%s:" % key).encode("utf-8")).decode("ascii")
            self._headers["Authorization"] = "Basic " + token
        elif internal_ticket is not None:
            self._headers["X-DKU-APITicket"] = _check_header_value(internal_ticket, "the API ticket")
        else:
            raise ValueError("an API key (api_key=...) or a ticket (internal_ticket=...) is required")
        for name, value in (extra_headers or {}).items():
            self._headers[name] = _check_header_value(value, "the header %s" % name)

        handlers = [_NoRedirect()]
        if scheme == "https":
            context = ssl.create_default_context()
            if no_check_certificate:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if client_certificate:
                if isinstance(client_certificate, (tuple, list)):
                    context.load_cert_chain(client_certificate[0], client_certificate[1])
                else:
                    context.load_cert_chain(client_certificate)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self):
        how = "api_key" if self.api_key is not None else "internal_ticket"
        return "DSSClient(%r, %s=<hidden>)" % (self.host, how)

    # -- transport --------------------------------------------------------------------------------------

    def _url(self, path, params=None):
        url = "%s/dip/publicapi%s" % (self.host, path)
        if params:
            pairs = [(k, _query_value(v)) for k, v in params.items() if v is not None]
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        return url

    def _perform_http(self, method, path, params=None, body=None):
        """Sends one request; returns (status, headers, body bytes); raises on errors and redirects."""
        url = self._url(path, params)
        shown = url.split("?", 1)[0]
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        # Without a body, http.client still sends "Content-Length: 0" on POST and PUT.
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        failure = None
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as err:
            try:
                raw = err.read()
            except Exception:  # noqa: BLE001 - the body is best effort
                raw = b""
            err.close()
            failure = self._error(method, shown, err.code, err.reason, err.headers, raw)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            reason = getattr(err, "reason", None) or err
            failure = DataikuConnectionError(
                "could not reach the server at %s: %s" % (shown, reason), url=shown
            )
        raise failure

    @staticmethod
    def _error(method, url, status, reason, headers, raw):
        text = raw.decode("utf-8", "replace")
        body = None
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            body = None
        error_type = detail = code = None
        if isinstance(body, dict):
            nested = body.get("error") if isinstance(body.get("error"), dict) else {}
            error_type = _first_string(body.get("errorType"), nested.get("code"))
            detail = _first_string(body.get("detailedMessage"), body.get("message"), nested.get("message"))
            code = _first_string(body.get("code"), nested.get("code"))
        status_text = "HTTP %d%s" % (status, " " + reason if reason else "")
        if 300 <= status < 400:
            location = headers.get("Location") if headers is not None else None
            message = (
                "%s: the server at %s answered with a redirect%s, which is not followed (it would carry "
                "the credential elsewhere): use the address the server expects"
                % (status_text, url, " to " + location if location else "")
            )
        elif detail is not None:
            message = "%s: %s" % (error_type or "Unknown error", detail)
        else:
            squeezed = " ".join(text.split())[:300]
            message = "%s: %s" % (status_text, squeezed or "(empty body)")
        return DataikuException(
            message,
            status=status,
            error_type=error_type,
            detailed_message=detail,
            code=code,
            method=method,
            url=url,
        )

    def _perform_json(self, method, path, params=None, body=None):
        status, headers, raw = self._perform_http(method, path, params=params, body=body)
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            url = self._url(path)
            raise DataikuProtocolError(
                "the server at %s answered HTTP %d but not with JSON (content type %r): is %s the address "
                "of a Coffer or DSS server?" % (url, status, headers.get("Content-Type"), self.host),
                url=url,
            ) from None

    def _perform_empty(self, method, path, params=None, body=None):
        self._perform_http(method, path, params=params, body=body)

    # -- identity and secrets ---------------------------------------------------------------------------

    def get_auth_info(self, with_secrets=False):
        """Who the credential is: authIdentifier, authSource, groups, associatedDSSUser, and with
        ``with_secrets=True`` the caller's ``secrets`` as a list of ``{"key": name, "value": value}``."""
        if not isinstance(with_secrets, bool):
            raise TypeError("with_secrets must be True or False")
        return self._perform_json("GET", "/auth/info", params={"withSecrets": with_secrets})

    def get_secret(self, name):
        """The value of the caller's secret ``name``; raises SecretNotFound if there is none."""
        if not isinstance(name, str) or not name:
            raise ValueError("name must be the name of a secret (a non-empty string)")
        info = self.get_auth_info(with_secrets=True)
        for secret in info.get("secrets") or []:
            if isinstance(secret, dict) and secret.get("key") == name:
                return secret.get("value")
        who = info.get("associatedDSSUser") or info.get("authIdentifier") or "the caller"
        raise SecretNotFound(
            name,
            'no secret named "%s" for %s: add it in your profile (My Account > Other credentials)'
            % (name, who),
        )

    def get_auth_info_from_browser_headers(self, headers_dict, with_secrets=False):
        """For webapps: the identity (and secrets) of the user whose browser sent ``headers_dict``."""
        return self._perform_json(
            "POST",
            "/auth/info-from-browser-headers",
            params={"withSecrets": bool(with_secrets)},
            body=headers_dict,
        )

    def get_ticket_from_browser_headers(self, headers_dict):
        """For webapps: ``{"msg": <ticket>}`` for the user whose browser sent ``headers_dict`` (as dataikuapi,
        the whole answer)."""
        return self._perform_json("POST", "/auth/ticket-from-browser-headers", body=headers_dict)

    # -- the user's own settings ------------------------------------------------------------------------

    def get_own_user(self):
        """A handle on the calling user (``get_settings()``)."""
        return DSSOwnUser(self)

    # -- personal API keys -------------------------------------------------------------------------------

    def list_personal_api_keys(self, as_type="listitems"):
        """The caller's personal API keys (never the keys themselves): a list of dict-like items, or of
        DSSPersonalApiKey with ``as_type="objects"``."""
        if as_type not in ("listitems", "objects"):
            raise ValueError('as_type must be "listitems" or "objects"')
        items = self._perform_json("GET", "/personal-api-keys/")
        if as_type == "objects":
            return [DSSPersonalApiKey(self, item.get("key", ""), item["id"]) for item in items]
        return [DSSPersonalApiKeyListItem(self, item) for item in items]

    def create_personal_api_key(self, label="", description="", as_type="dict"):
        """Creates a personal API key; the answer (``id``, ``key``, ...) is the only time ``key`` is shown.
        ``as_type="object"`` gives a DSSPersonalApiKey instead of a dict."""
        if as_type not in ("dict", "object"):
            raise ValueError('as_type must be "dict" or "object"')
        made = self._perform_json(
            "POST", "/personal-api-keys/", body={"label": label, "description": description}
        )
        if not isinstance(made, dict) or not made.get("id"):
            raise DataikuProtocolError("API key creation returned no key", url=self._url("/personal-api-keys/"))
        if as_type == "object":
            return DSSPersonalApiKey(self, made.get("key", ""), made["id"])
        return made

    def get_personal_api_key(self, id_):
        """A handle on one of the caller's personal API keys (``get_definition()``, ``delete()``...)."""
        return DSSPersonalApiKey(self, "", id_)

    def delete_personal_api_key(self, id_):
        """Deletes one of the caller's personal API keys: it stops working at once."""
        DSSPersonalApiKey(self, "", id_).delete()


def _key_path(id_):
    if not isinstance(id_, str) or not id_:
        raise ValueError("the id of a personal API key must be a non-empty string")
    return "/personal-api-keys/%s" % urllib.parse.quote(id_, safe="")


class DSSPersonalApiKey(object):
    """A personal API key, by id. ``key`` is only known right after creation."""

    def __init__(self, client, key, id_):
        self.client = client
        self.key = key
        self.id_ = id_

    @property
    def id(self):
        return self.id_

    def __repr__(self):
        return "DSSPersonalApiKey(id=%r)" % (self.id_,)

    def get_definition(self):
        """``{id, user, label, description, createdOn, createdBy}``."""
        return self.client._perform_json("GET", _key_path(self.id_))

    def set_definition(self, definition):
        """Saves ``label`` and ``description`` (the only editable fields)."""
        return self.client._perform_json("PUT", _key_path(self.id_), body=definition)

    def delete(self):
        self.client._perform_empty("DELETE", _key_path(self.id_))


class DSSPersonalApiKeyListItem(dict):
    """One item of ``list_personal_api_keys()``: a dict, with shortcuts."""

    def __init__(self, client, data):
        super().__init__(data)
        self.client = client

    @property
    def id(self):
        return self["id"]

    @property
    def user(self):
        return self.get("user")

    @property
    def label(self):
        return self.get("label")

    @property
    def description(self):
        return self.get("description")

    @property
    def key(self):
        """The key, shortened by the server (the whole key is only shown at creation)."""
        return self.get("key")

    @property
    def created_by(self):
        return self.get("createdBy")

    @property
    def created_on(self):
        """When the key was created, as a timezone-aware datetime (``createdOn`` is epoch ms)."""
        ms = self.get("createdOn")
        return None if ms is None else datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)

    def to_personal_api_key(self):
        return DSSPersonalApiKey(self.client, self.get("key", ""), self["id"])


class DSSOwnUser(object):
    """The user the client's credential belongs to."""

    def __init__(self, client):
        self.client = client

    def get_settings(self):
        """The user's settings (``GET current-user``), to edit and ``save()``."""
        return DSSOwnUserSettings(self.client, self.client._perform_json("GET", "/current-user"))


class DSSOwnUserSettings(object):
    """The user's settings as the server returns them, edited in place, then saved whole.

    Secrets read back as opaque ``e:AES:...`` markers, never as values: an entry saved with its marker
    unchanged keeps its stored value; a new value replaces it; a secret left out of the list is deleted.
    """

    def __init__(self, client, settings):
        self.client = client
        self.settings = settings
        settings.setdefault("secrets", [])
        settings.setdefault("credentials", {})
        settings.setdefault("userProperties", {})

    def get_raw(self):
        """The settings dict itself (edits to it are saved by ``save()``)."""
        return self.settings

    @property
    def user_properties(self):
        return self.settings["userProperties"]

    @property
    def credentials(self):
        return self.settings["credentials"]

    @property
    def secret_names(self):
        """The names of the user's secrets."""
        return [s.get("name") for s in self.settings["secrets"]]

    def add_secret(self, name, value):
        """Sets secret ``name`` to ``value`` (replacing any secret of that name) on the next ``save()``."""
        if not isinstance(name, str) or not name:
            raise ValueError("name must be the name of a secret (a non-empty string)")
        if not isinstance(value, str):
            raise TypeError("the value of a secret must be a string")
        self.remove_secret(name)
        self.settings["secrets"].append({"name": name, "value": value, "secret": True})

    def remove_secret(self, name):
        """Removes secret ``name`` on the next ``save()``."""
        self.settings["secrets"] = [s for s in self.settings["secrets"] if s.get("name") != name]

    def save(self):
        """Sends the whole settings back (``PUT current-user``)."""
        self.client._perform_empty("PUT", "/current-user", body=self.settings)
