"""Contract test: Coffer answers the HTTP requests that the dataikuapi Python client makes.

dataikuapi cannot be installed here, so `WireClient` below is a small, independent re-creation of the
requests it sends (see the research note on its wire behaviour), written with the standard library only:

* URL: "<host>/dip/publicapi<path>" with the host kept as given, so a host ending in "/" gives
  "//dip/publicapi/...";
* API key: "Authorization: Basic base64(<key>:)" (the key is the user name, the password is empty);
  ticket: "X-DKU-APITicket: <ticket>" and no Authorization header;
* JSON bodies: json.dumps(body) (ASCII, \\uXXXX escapes) with NO Content-Type header; a POST, PUT or
  DELETE with no body still sends "Content-Length: 0";
* query parameters: None dropped, booleans sent as "True"/"False";
* file uploads (files={"file": fp}, the plugin archive calls): requests' multipart/form-data body, see
  encode_files_like_requests: a 32-hex-digit boundary, one part named "file" with the file object's base
  name as filename and no per-part Content-Type;
* errors: any status >= 400 raises DataikuWireError("<errorType>: <detailedMessage or message>");
* requests headers: User-Agent python-requests, Accept */*, Accept-Encoding gzip/deflate.

One deliberate difference: requests follows redirects, this helper fails on them, because the server
must never redirect (a redirect turns PUT/POST into GET and drops the body).

The server and credentials come from the environment (test/python-contract.test.ts sets them):
COFFER_URL, COFFER_USER_LOGIN, COFFER_USER_KEY, COFFER_SECRET_VALUE (the user's value of
"credential-for-my-api"), COFFER_ADMIN_LOGIN, COFFER_ADMIN_KEY, COFFER_OTHER_KEY (a user without that
secret), COFFER_PROJECT_KEY (a project of the user), and optionally COFFER_TICKET (a ticket of the
user) and COFFER_USER_COOKIE (the user's browser session cookie, "name=value"). The plugin tests zip
examples/plugins/api-connect themselves and leave no plugin installed.
"""

import base64
import binascii
import gzip
import http.client
import http.server
import json
import os
import shutil
import tempfile
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
import zlib

# ---------------------------------------------------------------------------------------------------
# The wire helper
# ---------------------------------------------------------------------------------------------------


class DataikuWireError(Exception):
    """Stands for dataikuapi's DataikuException: one argument, "<errorType>: <message>"."""


def _error_from_response(status, text):
    """Mirrors the client's error rule: status >= 400 raises; the body's detailedMessage wins."""
    if status < 400:
        return None
    try:
        err = json.loads(text)
    except ValueError:
        err = {"message": text}
    # A JSON body that is not an object makes err.get fail with AttributeError, as in the client.
    kind = err.get("errorType", "Unknown error")
    detail = err.get("detailedMessage", err.get("message", "No message"))
    return DataikuWireError("%s: %s" % (kind, detail))


class WireResponse:
    def __init__(self, status, headers, raw):
        self.status_code = status
        self.headers = headers
        self.content = raw
        self.text = raw.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)


def encode_files_like_requests(files):
    """The body and Content-Type that requests (2.x, on urllib3) makes for files={"file": fp}, no data.

    requests' _encode_files: for a plain file object the filename is os.path.basename(fp.name) (unless
    the name is missing or looks like "<stdin>", when the field name is used), the content is fp.read(),
    and there is no per-part Content-Type. urllib3's encode_multipart_formdata then writes, per field,
    "--<boundary>\r\n", the part headers (Content-Disposition only, ended by a blank line), the bytes and
    "\r\n"; then "--<boundary>--\r\n". Its boundary is 32 lowercase hex digits (16 random bytes).
    """
    boundary = binascii.hexlify(os.urandom(16)).decode("ascii")
    out = []
    for field, fp in files.items():
        name = getattr(fp, "name", None)
        if name and isinstance(name, str) and name[0] != "<" and name[-1] != ">":
            filename = os.path.basename(name)
        else:
            filename = field
        content = fp if isinstance(fp, (bytes, bytearray, str)) else fp.read()
        if isinstance(content, str):
            content = content.encode("utf-8")
        out.append(("--%s\r\n" % boundary).encode("latin-1"))
        disposition = "form-data; name=%s; filename=%s" % (_html5_param(field), _html5_param(filename))
        out.append(("Content-Disposition: %s\r\n\r\n" % disposition).encode("utf-8"))
        out.append(bytes(content))
        out.append(b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode("latin-1"))
    return b"".join(out), "multipart/form-data; boundary=%s" % boundary


def _html5_param(value):
    """urllib3's multipart header parameter: quoted, with '"' and CR/LF percent-encoded (HTML5 style)."""
    return '"%s"' % value.translate({10: "%0A", 13: "%0D", 34: "%22"})


class WireClient:
    """The requests a dataikuapi DSSClient makes, one method per client call used below."""

    def __init__(self, host, api_key=None, internal_ticket=None, extra_headers=None):
        self.host = host  # kept as given: no trailing-slash stripping
        self.api_key = api_key
        self.internal_ticket = internal_ticket
        self.headers = {
            "User-Agent": "python-requests/2.32.3",
            "Accept-Encoding": "gzip, deflate",
            "Accept": "*/*",
            "Connection": "keep-alive",
        }
        if api_key is not None:
            token = base64.b64encode(("%s:" % api_key).encode("latin-1")).decode("ascii")
            self.headers["Authorization"] = "Basic " + token
        elif internal_ticket is not None:
            self.headers["X-DKU-APITicket"] = internal_ticket
        else:
            raise ValueError("API Key is required")
        if extra_headers:
            self.headers.update(extra_headers)

    # -- transport -----------------------------------------------------------------------------------

    def _perform_http(self, method, path, params=None, body=None, files=None):
        url = "%s/dip/publicapi%s" % (self.host, path)
        if params:
            pairs = [(k, v) for k, v in params.items() if v is not None]
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs, doseq=True)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        headers = dict(self.headers)
        if files:
            # requests: data=None with files= gives a multipart body of the files alone.
            data, headers["Content-Type"] = encode_files_like_requests(files)
        if data is None and method not in ("GET", "HEAD"):
            headers["Content-Length"] = "0"
        res = self._send(method, url, data, headers)
        if 300 <= res.status_code < 400:
            raise AssertionError(
                "the server redirected %s %s to %s (status %d); it must answer directly"
                % (method, url, res.headers.get("Location"), res.status_code)
            )
        err = _error_from_response(res.status_code, res.text)
        if err is not None:
            raise err
        return res

    @staticmethod
    def _send(method, url, data, headers):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=60)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        target = parts.path + ("?" + parts.query if parts.query else "")
        try:
            # http.client adds Host and Content-Length, never a Content-Type.
            conn.request(method, target, body=data, headers=headers)
            res = conn.getresponse()
            raw = res.read()
            encoding = (res.getheader("Content-Encoding") or "").lower()
            if encoding == "gzip":
                raw = gzip.decompress(raw)
            elif encoding == "deflate":
                raw = zlib.decompress(raw)
            return WireResponse(res.status, res.headers, raw)
        finally:
            conn.close()

    def _perform_json(self, method, path, params=None, body=None, files=None):
        return self._perform_http(method, path, params=params, body=body, files=files).json()

    def _perform_text(self, method, path, params=None, body=None, files=None):
        return self._perform_http(method, path, params=params, body=body, files=files).text

    def _perform_empty(self, method, path, params=None, body=None, files=None):
        self._perform_http(method, path, params=params, body=body, files=files)

    # -- identity --------------------------------------------------------------------------------------

    def get_auth_info(self, with_secrets=False):
        return self._perform_json("GET", "/auth/info", params={"withSecrets": with_secrets})

    def get_auth_info_from_browser_headers(self, headers_dict, with_secrets=False):
        return self._perform_json(
            "POST", "/auth/info-from-browser-headers", params={"withSecrets": with_secrets}, body=headers_dict
        )

    def get_ticket_from_browser_headers(self, headers_dict):
        return self._perform_json("POST", "/auth/ticket-from-browser-headers", body=headers_dict)

    # -- users -----------------------------------------------------------------------------------------

    def list_users(self):
        return self._perform_json("GET", "/admin/users/")

    def get_user(self, login):
        return WireUser(self, login)

    def get_own_user(self):
        return WireOwnUser(self)

    # -- notebooks (dssclient.py) ----------------------------------------------------------------------

    def list_running_notebooks(self, as_objects=True):
        notebook_list = self._perform_json("GET", "/admin/notebooks/")
        if as_objects:
            return [WireNotebook(self, n["projectKey"], n["name"], n) for n in notebook_list]
        return notebook_list

    # -- plugins (dssclient.py) ------------------------------------------------------------------------

    def list_plugins(self):
        return self._perform_json("GET", "/plugins/")

    def install_plugin_from_archive(self, fp):
        files = {"file": fp}
        self._perform_json("POST", "/plugins/actions/installFromZip", files=files)

    def get_plugin(self, plugin_id):
        return WirePlugin(self, plugin_id)

    # -- personal API keys -----------------------------------------------------------------------------

    def list_personal_api_keys(self):
        return self._perform_json("GET", "/personal-api-keys/")

    def list_all_personal_api_keys(self):
        return self._perform_json("GET", "/admin/personal-api-keys/")

    def get_personal_api_key(self, id_):
        return WirePersonalApiKey(self, "", id_)

    def create_personal_api_key(self, label="", description="", as_type="dict"):
        resp = self._perform_json("POST", "/personal-api-keys/", body={"label": label, "description": description})
        return self._new_key(resp, as_type)

    def create_personal_api_key_for_user(self, user, label="", description="", as_type="object"):
        body = {"user": user, "label": label, "description": description}
        resp = self._perform_json("POST", "/admin/personal-api-keys/", body=body)
        return self._new_key(resp, as_type)

    def _new_key(self, resp, as_type):
        if resp is None:
            raise Exception("API key creation returned no data")
        if not resp.get("id", False):
            raise Exception("API key creation returned no key")
        if as_type == "object":
            return WirePersonalApiKey(self, resp.get("key", ""), resp["id"])
        return resp


class WirePersonalApiKey:
    def __init__(self, client, key, id_):
        self.client = client
        self.key = key
        self.id_ = id_

    def get_definition(self):
        return self.client._perform_json("GET", "/personal-api-keys/%s" % self.id_)

    def set_definition(self, definition):
        return self.client._perform_empty("PUT", "/personal-api-keys/%s" % self.id_, body=definition)

    def delete(self):
        return self.client._perform_empty("DELETE", "/personal-api-keys/%s" % self.id_)


class WireSettingsBase:
    """The settings dict, edited in place, as the client's settings classes do."""

    def __init__(self, client, settings):
        self.client = client
        self.settings = settings

    def add_secret(self, name, value):
        self.remove_secret(name)
        return self.settings["secrets"].append({"name": name, "value": value, "secret": True})

    def remove_secret(self, name):
        self.settings["secrets"] = [x for x in self.settings["secrets"] if x["name"] != name]

    @property
    def user_properties(self):
        return self.settings["userProperties"]

    @property
    def credentials(self):
        return self.settings["credentials"]

    # dss/admin.py: plugin credentials live in "credentials", keyed by a JSON list without its brackets.
    def set_basic_plugin_credential(self, plugin_id, param_set_id, preset_id, param_name, login, password):
        name = plugin_credential_key(plugin_id, param_set_id, preset_id, param_name)
        self.settings["credentials"][name] = {"type": "BASIC", "user": login, "password": password}

    def remove_plugin_credential(self, plugin_id, param_set_id, preset_id, param_name):
        name = plugin_credential_key(plugin_id, param_set_id, preset_id, param_name)
        if name in self.settings["credentials"]:
            del self.settings["credentials"][name]

    def get_raw(self):
        return self.settings


class WireUserSettings(WireSettingsBase):
    def __init__(self, client, login, settings):
        super().__init__(client, settings)
        self.login = login

    @property
    def admin_properties(self):
        return self.settings["adminProperties"]

    @property
    def enabled(self):
        return self.settings["enabled"]

    @property
    def creation_date(self):
        return self.settings["creationDate"] if "creationDate" in self.settings else None

    @property
    def preferences(self):
        return self.settings["preferences"]

    def save(self):
        # The admin save is read as JSON: the response must parse.
        return self.client._perform_json("PUT", "/admin/users/%s" % self.login, body=self.settings)


class WireOwnUserSettings(WireSettingsBase):
    def save(self):
        self.client._perform_empty("PUT", "/current-user", body=self.settings)


class WireUser:
    def __init__(self, client, login):
        self.client = client
        self.login = login

    def get_settings(self):
        return WireUserSettings(self.client, self.login, self.client._perform_json("GET", "/admin/users/%s" % self.login))


class WireOwnUser:
    def __init__(self, client):
        self.client = client

    def get_settings(self):
        return WireOwnUserSettings(self.client, self.client._perform_json("GET", "/current-user"))


class WireJupyterNotebook:
    """dataikuapi/dss/jupyternotebook.py: DSSJupyterNotebook and DSSNotebookContent."""

    def __init__(self, client, project_key, notebook_name):
        self.client = client
        self.project_key = project_key
        self.notebook_name = notebook_name

    def get_content(self):
        raw = self.client._perform_json("GET", "/projects/%s/jupyter-notebooks/%s" % (self.project_key, self.notebook_name))
        return WireNotebookContent(self.client, self.project_key, self.notebook_name, raw)

    def delete(self):
        return self.client._perform_json("DELETE", "/projects/%s/jupyter-notebooks/%s" % (self.project_key, self.notebook_name))

    def clear_outputs(self):
        return self.client._perform_json(
            "DELETE", "/projects/%s/jupyter-notebooks/%s/outputs" % (self.project_key, self.notebook_name)
        )

    def get_sessions(self, as_objects=False):
        sessions = self.client._perform_json(
            "GET", "/projects/%s/jupyter-notebooks/%s/sessions" % (self.project_key, self.notebook_name)
        )
        if as_objects:
            return [WireNotebookSession(self.client, session) for session in sessions]
        return sessions

    def unload(self, session_id=None):
        sessions = self.get_sessions()
        if sessions is None or len(sessions) == 0:
            raise Exception("Notebook isn't running")
        if session_id is None:
            if len(sessions) > 1:
                raise Exception("Several sessions of the notebook are running, choose one")
            session_id = sessions[0].get("sessionId", None)
        return self.client._perform_json(
            "DELETE",
            "/projects/%s/jupyter-notebooks/%s/sessions/%s" % (self.project_key, self.notebook_name, session_id),
        )


class WireNotebookSession:
    """dss/jupyternotebook.py DSSNotebookSession: every field read with .get (None when absent)."""

    def __init__(self, client, session):
        self.client = client
        self.project_key = session.get("projectKey")
        self.notebook_name = session.get("notebookName")
        self.session_creator = session.get("sessionCreator")
        self.session_creator_display_name = session.get("sessionCreatorDisplayName")
        self.session_id = session.get("sessionId")
        self.kernel_id = session.get("kernelId")
        self.kernel_connections = session.get("kernelConnections")
        self.kernel_last_activity_time = session.get("kernelLastActivityTime")
        self.kernel_execution_state = session.get("kernelExecutionState")
        self.session_start_time = session.get("sessionStartTime")

    def unload(self):
        return self.client._perform_json(
            "DELETE",
            "/projects/%s/jupyter-notebooks/%s/sessions/%s" % (self.project_key, self.notebook_name, self.session_id),
        )


class WireNotebook:
    """dss/notebook.py DSSNotebook, what list_running_notebooks(as_objects=True) makes of each item.

    Its state starts as the admin list's item; get_state() reads the project's whole list (active=False,
    sent as "False") and keeps the item of that name, else the state it had. get_sessions() and unload()
    read the state's activeSessions: None means "not running", an empty list too for unload().
    """

    def __init__(self, client, project_key, notebook_name, state=None):
        self.client = client
        self.project_key = project_key
        self.notebook_name = notebook_name
        self.state = state

    def get_state(self):
        notebook_states = self.client._perform_json(
            "GET", "/projects/%s/jupyter-notebooks/" % self.project_key, params={"active": False}
        )
        for notebook in notebook_states:
            if notebook.get("name") == self.notebook_name:
                self.state = notebook
                return self.state
        return self.state

    def get_sessions(self):
        state = self.get_state()
        if state is None or state.get("activeSessions", None) is None:
            raise Exception("Notebook isn't running")
        return state["activeSessions"]

    def unload(self, session_id=None):
        state = self.get_state()
        if state is None or state.get("activeSessions", None) is None or len(state["activeSessions"]) == 0:
            raise Exception("Notebook isn't running")
        if session_id is None:
            if len(state["activeSessions"]) > 1:
                raise Exception("Several sessions of the notebook are running, choose one")
            session_id = state["activeSessions"][0].get("sessionId", None)
        return self.client._perform_json(
            "DELETE",
            "/projects/%s/jupyter-notebooks/%s/sessions/%s" % (self.project_key, self.notebook_name, session_id),
        )


class WireNotebookContent:
    def __init__(self, client, project_key, notebook_name, content):
        self.client = client
        self.project_key = project_key
        self.notebook_name = notebook_name
        self.content = content

    def get_cells(self):
        return self.content["cells"]

    def save(self):
        return self.client._perform_json(
            "PUT", "/projects/%s/jupyter-notebooks/%s" % (self.project_key, self.notebook_name), body=self.content
        )


class WireProject:
    """dataikuapi/dss/project.py: the Jupyter notebook calls."""

    def __init__(self, client, project_key):
        self.client = client
        self.project_key = project_key

    def list_jupyter_notebooks(self, active=False):
        return self.client._perform_json(
            "GET", "/projects/%s/jupyter-notebooks/" % self.project_key, params={"active": active}
        )

    def create_jupyter_notebook(self, notebook_name, notebook_content):
        self.client._perform_json(
            "POST", "/projects/%s/jupyter-notebooks/%s" % (self.project_key, notebook_name), body=notebook_content
        )
        return WireJupyterNotebook(self.client, self.project_key, notebook_name)

    def get_jupyter_notebook(self, notebook_name):
        return WireJupyterNotebook(self.client, self.project_key, notebook_name)


def plugin_credential_key(plugin_id, param_set_id, preset_id, param_name):
    return json.dumps(["PLUGIN", plugin_id, param_set_id, preset_id, param_name])[1:-1]


class WireFuture:
    """dss/future.py DSSFuture: from_resp keeps the answer as its state; a finished one is not polled."""

    def __init__(self, client, job_id, state=None):
        self.client = client
        self.job_id = job_id
        self.state = state
        self.state_is_peek = True

    @staticmethod
    def from_resp(client, resp):
        return WireFuture(client, resp.get("jobId", None), state=resp)

    def get_state(self):
        self.state = self.client._perform_json("GET", "/futures/%s" % self.job_id, params={"peek": False})
        self.state_is_peek = False
        return self.state

    def wait_for_result(self):
        if self.state.get("hasResult", False) and "result" in self.state:
            return self.state.get("result", None)
        if self.state is None or not self.state.get("hasResult", False) or self.state_is_peek:
            self.get_state()
        if not self.state.get("hasResult", False):
            raise AssertionError("the future is not finished; the real client would poll /futures every 5 s")
        return self.state.get("result", None)


class WirePlugin:
    """dss/plugin.py DSSPlugin: the instance-level calls."""

    def __init__(self, client, plugin_id):
        self.client = client
        self.plugin_id = plugin_id

    def get_settings(self):
        settings = self.client._perform_json("GET", "/plugins/%s/settings" % self.plugin_id)
        return WirePluginSettings(self.client, self.plugin_id, settings)

    def update_from_zip(self, fp):
        files = {"file": fp}
        self.client._perform_json("POST", "/plugins/%s/actions/updateFromZip" % self.plugin_id, files=files)

    def list_usages(self, project_key=None):
        return WirePluginUsages(
            self.client._perform_json(
                "GET", "/plugins/{pluginId}/actions/listUsages".format(pluginId=self.plugin_id),
                params={"projectKey": project_key},
            )
        )

    def delete(self, force=False):
        params = {"force": force}
        ret = self.client._perform_json(
            "POST", "/plugins/{pluginId}/actions/delete".format(pluginId=self.plugin_id), body=params
        )
        return WireFuture.from_resp(self.client, ret)


class WirePluginSettings:
    """DSSPluginSettings: the raw dict, edited in place, saved whole (POST, params projectKey=None)."""

    def __init__(self, client, plugin_id, settings, project_key=None):
        self.client = client
        self.plugin_id = plugin_id
        self.settings = settings
        self.project_key = project_key

    def get_raw(self):
        return self.settings

    def list_parameter_set_names(self):
        return [d["id"] for d in self.settings.get("accessibleParameterSetDescs", [])]

    def get_parameter_set(self, parameter_set_name):
        desc = None
        data = None
        for ps in self.settings.get("accessibleParameterSetDescs", []):
            if ps["id"] == parameter_set_name:
                desc = ps
        for ps in self.settings.get("parameterSets", []):
            if ps["name"] == parameter_set_name:
                data = ps
        if desc is None:
            return None
        if data is None:
            data = {"type": desc["elementType"]}
        presets = [p for p in self.settings["presets"] if p["type"] == data["type"]]
        return WireParameterSet(self, desc, data, presets)

    def save(self):
        self.client._perform_empty(
            "POST", "/plugins/%s/settings" % self.plugin_id, params={"projectKey": self.project_key}, body=self.settings
        )


class WireParameterSet:
    """DSSPluginParameterSet: presets are the settings' own dicts; create_preset appends to both lists."""

    def __init__(self, plugin_settings, desc, settings, presets):
        self._plugin_settings = plugin_settings
        self._desc = desc
        self._settings = settings
        self._presets = presets

    @property
    def definable_inline(self):
        return self._settings["defaultPermission"].get("definableInline", False)

    def list_preset_names(self):
        return [p["name"] for p in self._presets]

    def get_preset(self, preset_name):
        for p in self._presets:
            if p["name"] == preset_name:
                return p
        return None

    def create_preset(self, preset_name, with_defaults=False):
        for p in self._presets:
            if p["name"] == preset_name:
                raise Exception("A preset of the same name already exists")
        new_preset = {"name": preset_name, "type": self._settings["type"], "config": {}, "pluginConfig": {},
                      "defaultPermission": {}, "permissions": []}
        if with_defaults:
            for p in self._desc["desc"]["params"]:
                v = p.get("defaultValue")
                if v is not None:
                    new_preset["config"][p["name"]] = v
            for p in self._desc["desc"]["pluginParams"]:
                v = p.get("defaultValue")
                if v is not None:
                    new_preset["pluginConfig"][p["name"]] = v
        self._plugin_settings.settings["presets"].append(new_preset)
        self._presets.append(new_preset)
        return self.get_preset(preset_name)

    def save(self):
        self._plugin_settings.save()


class WirePluginUsages:
    """DSSPluginUsages: iterates data.get("usages", []) and data.get("missingTypes") (no default)."""

    def __init__(self, data):
        self._data = data
        self.usages = [
            {
                "element_kind": u["elementKind"], "element_type": u["elementType"], "object_id": u["objectId"],
                "object_type": u["objectType"], "project_key": u["projectKey"],
            }
            for u in data.get("usages", [])
        ]
        self.missing_types = [
            {"missing_type": m["missingType"], "object_id": m["objectId"], "object_type": m["objectType"],
             "project_key": m["projectKey"]}
            for m in data.get("missingTypes")
        ]

    def maybe_used(self):
        return not (not self.usages and not self.missing_types)


# ---------------------------------------------------------------------------------------------------
# The documentation's snippet, verbatim (shared/seeds: "User secrets", Python section)
# ---------------------------------------------------------------------------------------------------

SEED_SNIPPET = '''# client is a dataikuapi.DSSClient

auth_info = client.get_auth_info(with_secrets=True)

# retrieve the secret named "credential-for-my-api"
secret_value = None
for secret in auth_info["secrets"]:
        if secret["key"] == "credential-for-my-api":
                secret_value = secret["value"]
                break

if not secret_value:
        raise Exception("secret not found")

# Use secret_value
'''


def run_seed_snippet(client):
    scope = {"client": client}
    exec(compile(SEED_SNIPPET, "<seed snippet>", "exec"), scope)
    return scope["secret_value"]


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("environment variable %s is required (see the module docstring)" % name)
    return value


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


# ---------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------


class HelperIsWireFaithful(unittest.TestCase):
    """Checks the helper itself against a local recorder, so the contract tests below mean something."""

    def setUp(self):
        seen = self.seen = []

        class Recorder(http.server.BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                # The raw request line: http.server itself collapses a leading "//" in self.path.
                target = self.requestline.split(" ")[1]
                seen.append((self.command, target, dict(self.headers.items()), body))
                payload = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def tearDown(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def lower(self, headers):
        return {k.lower(): v for k, v in headers.items()}

    def test_api_key_is_basic_user_with_empty_password_and_host_slash_gives_double_slash(self):
        WireClient(self.base + "/", api_key="the-key").get_auth_info(with_secrets=True)
        method, path, headers, body = self.seen[0]
        headers = self.lower(headers)
        self.assertEqual(method, "GET")
        self.assertEqual(path, "//dip/publicapi/auth/info?withSecrets=True")
        self.assertEqual(headers["authorization"], "Basic " + base64.b64encode(b"the-key:").decode())
        self.assertNotIn("content-type", headers)
        self.assertNotIn("x-dku-apiticket", headers)
        self.assertEqual(body, b"")

    def test_json_body_has_no_content_type_and_is_ascii(self):
        WireClient(self.base, api_key="k")._perform_json("PUT", "/current-user", body={"a": "caf\u00e9", "b": False})
        method, path, headers, body = self.seen[0]
        headers = self.lower(headers)
        self.assertEqual((method, path), ("PUT", "/dip/publicapi/current-user"))
        self.assertNotIn("content-type", headers)
        self.assertEqual(body, b'{"a": "caf\\u00e9", "b": false}')
        self.assertEqual(headers["content-length"], str(len(body)))

    def test_bodiless_post_and_delete_send_content_length_zero_and_false_is_False(self):
        client = WireClient(self.base, api_key="k")
        client._perform_empty("POST", "/x", params={"flag": False, "dropped": None})
        client._perform_empty("DELETE", "/y")
        self.assertEqual(self.seen[0][1], "/dip/publicapi/x?flag=False")
        for _, _, headers, _ in self.seen:
            self.assertEqual(self.lower(headers).get("content-length"), "0")
            self.assertNotIn("content-type", self.lower(headers))

    def test_ticket_goes_in_x_dku_apiticket_without_authorization(self):
        WireClient(self.base, internal_ticket="tick").get_auth_info()
        headers = self.lower(self.seen[0][2])
        self.assertEqual(headers["x-dku-apiticket"], "tick")
        self.assertNotIn("authorization", headers)
        self.assertEqual(self.seen[0][1], "/dip/publicapi/auth/info?withSecrets=False")

    def test_files_upload_is_requests_multipart_byte_for_byte(self):
        folder = tempfile.mkdtemp()
        try:
            path = os.path.join(folder, "my-plugin.zip")
            with open(path, "wb") as f:
                f.write(b"PK\x03\x04 not really a zip \r\n--")
            with open(path, "rb") as fp:
                client = WireClient(self.base, api_key="k")
                client._perform_json("POST", "/plugins/actions/installFromZip", files={"file": fp})
        finally:
            shutil.rmtree(folder)
        method, target, headers, body = self.seen[0]
        headers = self.lower(headers)
        self.assertEqual((method, target), ("POST", "/dip/publicapi/plugins/actions/installFromZip"))
        kind, _, boundary = headers["content-type"].partition("; boundary=")
        self.assertEqual(kind, "multipart/form-data")
        self.assertRegex(boundary, r"^[0-9a-f]{32}$")
        expected = (
            b"--" + boundary.encode() + b"\r\n"
            b'Content-Disposition: form-data; name="file"; filename="my-plugin.zip"\r\n'
            b"\r\n"
            b"PK\x03\x04 not really a zip \r\n--"
            b"\r\n"
            b"--" + boundary.encode() + b"--\r\n"
        )
        self.assertEqual(body, expected)
        self.assertEqual(headers["content-length"], str(len(expected)))
        self.assertEqual(headers["authorization"], "Basic " + base64.b64encode(b"k:").decode())

    def test_plugin_delete_sends_force_as_a_json_body(self):
        WireClient(self.base, api_key="k").get_plugin("p").delete(force=False)
        method, target, headers, body = self.seen[0]
        self.assertEqual((method, target), ("POST", "/dip/publicapi/plugins/p/actions/delete"))
        self.assertEqual(body, b'{"force": false}')
        self.assertNotIn("content-type", self.lower(headers))


class CofferAnswersDataikuapi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.url = env("COFFER_URL").rstrip("/")
        cls.user_login = env("COFFER_USER_LOGIN")
        cls.user_key = env("COFFER_USER_KEY")
        cls.secret_value = env("COFFER_SECRET_VALUE")
        cls.admin_login = env("COFFER_ADMIN_LOGIN")
        cls.admin_key = env("COFFER_ADMIN_KEY")
        cls.other_key = env("COFFER_OTHER_KEY")
        # Base URLs configured with a trailing slash, as users often do: requests go to //dip/publicapi.
        cls.user = WireClient(cls.url + "/", api_key=cls.user_key)
        cls.admin = WireClient(cls.url + "/", api_key=cls.admin_key)
        cls.other = WireClient(cls.url + "/", api_key=cls.other_key)

    def values(self, client):
        return {s["key"]: s["value"] for s in client.get_auth_info(with_secrets=True)["secrets"]}

    # -- the documentation's snippet -----------------------------------------------------------------

    def test_seed_snippet_reads_credential_for_my_api(self):
        self.assertEqual(run_seed_snippet(self.user), self.secret_value)

    def test_seed_snippet_works_with_a_host_without_trailing_slash(self):
        self.assertEqual(run_seed_snippet(WireClient(self.url, api_key=self.user_key)), self.secret_value)

    def test_seed_snippet_works_with_a_ticket_client(self):
        ticket = os.environ.get("COFFER_TICKET")
        if not ticket:
            self.skipTest("COFFER_TICKET not set")
        client = WireClient(self.url + "/", internal_ticket=ticket)
        self.assertEqual(run_seed_snippet(client), self.secret_value)
        self.assertEqual(client.get_auth_info()["authSource"], "TICKET")

    def test_seed_snippet_raises_secret_not_found_for_a_user_without_it(self):
        with self.assertRaises(Exception) as ctx:
            run_seed_snippet(self.other)
        self.assertEqual(str(ctx.exception), "secret not found")

    # -- auth info -----------------------------------------------------------------------------------

    def test_auth_info_without_secrets_has_identity_fields_and_no_secrets(self):
        info = self.user.get_auth_info()
        self.assertEqual(info["authIdentifier"], self.user_login)
        self.assertEqual(info["associatedDSSUser"], self.user_login)
        self.assertEqual(info["authSource"], "PERSONAL_API_KEY")
        for field in ("via", "groups", "userProfile"):
            self.assertIn(field, info)
        self.assertNotIn("secrets", info)

    # -- settings round trips --------------------------------------------------------------------------

    def test_own_settings_add_remove_save_round_trip(self):
        keep, gone = unique("py-keep"), unique("py-gone")
        settings = self.user.get_own_user().get_settings()
        self.assertIsInstance(settings.settings["secrets"], list)
        self.assertIsInstance(settings.credentials, dict)
        self.assertIsInstance(settings.user_properties, dict)
        settings.add_secret(keep, "keep-1")
        settings.add_secret(gone, "gone-1")
        settings.save()
        values = self.values(self.user)
        self.assertEqual(values[keep], "keep-1")
        self.assertEqual(values[gone], "gone-1")
        self.assertEqual(values["credential-for-my-api"], self.secret_value)

        settings = self.user.get_own_user().get_settings()
        for entry in settings.settings["secrets"]:
            self.assertTrue(entry["value"].startswith("e:AES:"), "GET must return markers, not values")
            self.assertIs(entry["secret"], True)
        settings.add_secret(keep, "keep-2-caf\u00e9-\u6f22")
        settings.remove_secret(gone)
        settings.save()
        values = self.values(self.user)
        self.assertEqual(values[keep], "keep-2-caf\u00e9-\u6f22")
        self.assertNotIn(gone, values)
        self.assertEqual(values["credential-for-my-api"], self.secret_value)

        settings = self.user.get_own_user().get_settings()
        settings.remove_secret(keep)
        settings.save()
        self.assertNotIn(keep, self.values(self.user))

    def test_save_keeps_a_secret_created_elsewhere_after_the_settings_were_read(self):
        mine, theirs = unique("py-mine"), unique("py-by-admin-meanwhile")
        settings = self.user.get_own_user().get_settings()
        meanwhile = self.admin.get_user(self.user_login).get_settings()
        meanwhile.add_secret(theirs, "set-meanwhile")
        meanwhile.save()
        settings.add_secret(mine, "mine-1")
        settings.save()
        values = self.values(self.user)
        self.assertEqual(values[mine], "mine-1")
        self.assertEqual(values[theirs], "set-meanwhile")
        self.assertEqual(values["credential-for-my-api"], self.secret_value)
        cleanup = self.user.get_own_user().get_settings()
        cleanup.remove_secret(mine)
        cleanup.remove_secret(theirs)
        cleanup.save()

    def test_jupyter_notebook_create_list_read_save_clear_delete(self):
        project = WireProject(self.user, env("COFFER_PROJECT_KEY"))
        name = unique("py-notebook")
        content = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [{"cell_type": "code", "source": ["x = 1\n", "x"], "metadata": {},
                       "outputs": [{"output_type": "execute_result", "data": {"text/plain": "1"},
                                    "metadata": {}, "execution_count": 1}], "execution_count": 1}],
        }
        notebook = project.create_jupyter_notebook(name, content)
        items = [i for i in project.list_jupyter_notebooks() if i["name"] == name]
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["projectKey"], env("COFFER_PROJECT_KEY"))
        self.assertEqual(items[0]["language"], "python")
        self.assertEqual(items[0]["kernelSpec"]["name"], "python3")
        self.assertEqual(project.list_jupyter_notebooks(active=True), [])
        read = notebook.get_content()
        self.assertEqual(read.get_cells()[0]["source"], ["x = 1\n", "x"])
        read.get_cells().append({"cell_type": "markdown", "source": "notes", "metadata": {}})
        read.save()
        self.assertEqual(len(notebook.get_content().get_cells()), 2)
        notebook.clear_outputs()
        self.assertEqual(notebook.get_content().get_cells()[0]["outputs"], [])
        stale = read
        stale.get_cells().append({"cell_type": "markdown", "source": "later", "metadata": {}})
        with self.assertRaises(DataikuWireError) as ctx:
            stale.save()
        self.assertIn("nothing was saved", str(ctx.exception))
        notebook.delete()
        self.assertEqual([i for i in project.list_jupyter_notebooks() if i["name"] == name], [])

    def http(self, key, method, path, body=None, scheme="Bearer"):
        """Coffer's own API, or Jupyter's with scheme "token" (not dataikuapi calls): status and answer."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "%s %s" % (scheme, key))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                status, text = res.status, res.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode("utf-8")
        return status, (json.loads(text) if text else None)

    def open_kernel(self, project_key, name):
        """Opens the user's kernel for a notebook as a Jupyter client does: a real kernel, in the sandbox."""
        path = "%s/%s.ipynb" % (project_key, name)
        status, session = self.http(self.user_key, "POST", "/jupyter/api/sessions", {"path": path}, "token")
        self.assertEqual(status, 201, session)
        self.addCleanup(self.http, self.user_key, "DELETE", "/jupyter/api/sessions/" + session["id"], None, "token")
        return session

    def test_running_notebook_sessions_listed_read_and_unloaded(self):
        # A project of its own, with the administrator as a reader: DSSNotebook.get_sessions() reads the
        # project's notebook list, which Coffer shows to its members only.
        project_key = "PYNB" + uuid.uuid4().hex[:6].upper()
        status, answer = self.http(self.user_key, "POST", "/api/v1/projects", {"key": project_key, "name": "Kernels"})
        self.assertEqual(status, 201, answer)
        member = "/api/v1/projects/%s/members/%s" % (project_key, self.admin_login)
        status, answer = self.http(self.user_key, "PUT", member, {"role": "reader"})
        self.assertIn(status, (200, 201, 204), answer)
        project = WireProject(self.user, project_key)
        name = unique("py-running")
        notebook = project.create_jupyter_notebook(name, {
            "nbformat": 4, "nbformat_minor": 5, "cells": [],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        })
        self.assertEqual(notebook.get_sessions(), [])
        opened = self.open_kernel(project_key, name)

        # The user's notebook handle (dss/jupyternotebook.py).
        sessions = notebook.get_sessions()
        self.assertEqual([(s["sessionId"], s["kernelId"]) for s in sessions], [(opened["id"], opened["kernel"]["id"])])
        session = notebook.get_sessions(as_objects=True)[0]
        self.assertEqual(
            (session.project_key, session.notebook_name, session.session_creator, session.session_id),
            (project_key, name, self.user_login, opened["id"]),
        )
        self.assertEqual([i["name"] for i in project.list_jupyter_notebooks(active=True)], [name])

        # The administrator's list, as dicts and as DSSNotebook objects, whose get_sessions() and unload()
        # read the notebook's activeSessions.
        listed = [n for n in self.admin.list_running_notebooks(as_objects=False) if n["projectKey"] == project_key]
        self.assertEqual([n["name"] for n in listed], [name])
        self.assertEqual([s["sessionId"] for s in listed[0]["activeSessions"]], [opened["id"]])
        running = [n for n in self.admin.list_running_notebooks() if n.project_key == project_key]
        self.assertEqual([n.notebook_name for n in running], [name])
        self.assertEqual([s["sessionId"] for s in running[0].get_sessions()], [opened["id"]])
        running[0].unload(opened["id"])
        self.assertEqual(notebook.get_sessions(), [])
        self.assertEqual(running[0].get_sessions(), [])
        with self.assertRaises(Exception) as ctx:
            running[0].unload()
        self.assertEqual(str(ctx.exception), "Notebook isn't running")
        self.assertEqual([n for n in self.admin.list_running_notebooks(False) if n["projectKey"] == project_key], [])

        # The user unloads their own second kernel with unload() alone: the one session it finds.
        again = self.open_kernel(project_key, name)
        self.assertEqual([s["sessionId"] for s in notebook.get_sessions()], [again["id"]])
        notebook.unload()
        self.assertEqual(notebook.get_sessions(), [])
        self.assertEqual(project.list_jupyter_notebooks(active=True), [])
        notebook.delete()

    def test_marker_copied_from_another_user_is_refused_and_nothing_changes(self):
        name = unique("py-theirs")
        theirs = self.other.get_own_user().get_settings()
        theirs.add_secret(name, "other-user-value")
        theirs.save()
        marker = [s for s in self.other.get_own_user().get_settings().settings["secrets"] if s["name"] == name][0]["value"]

        before = self.values(self.user)
        mine = self.user.get_own_user().get_settings()
        mine.add_secret(name, marker)
        mine.add_secret(unique("py-innocent"), "would-be-new")
        with self.assertRaises(DataikuWireError) as ctx:
            mine.save()
        self.assertRegex(str(ctx.exception), r"^\S+: .+")
        self.assertEqual(self.values(self.user), before)

    def test_admin_sets_and_removes_a_secret_of_the_user_without_seeing_values(self):
        name = unique("py-by-admin")
        settings = self.admin.get_user(self.user_login).get_settings()
        self.assertIsInstance(settings.admin_properties, dict)
        self.assertIs(settings.enabled, True)
        self.assertIsInstance(settings.creation_date, int)
        self.assertGreater(settings.creation_date, 0)
        self.assertIsInstance(settings.preferences, dict)
        self.assertNotIn(self.secret_value, json.dumps(settings.settings))
        settings.add_secret(name, "value-from-admin")
        answer = settings.save()
        self.assertIsInstance(answer, dict)
        self.assertNotIn("value-from-admin", json.dumps(answer))
        self.assertNotIn(self.secret_value, json.dumps(answer))
        self.assertEqual(self.values(self.user)[name], "value-from-admin")

        settings = self.admin.get_user(self.user_login).get_settings()
        self.assertNotIn("value-from-admin", json.dumps(settings.settings))
        settings.remove_secret(name)
        settings.save()
        values = self.values(self.user)
        self.assertNotIn(name, values)
        self.assertEqual(values["credential-for-my-api"], self.secret_value)

    def test_list_users_returns_logins(self):
        logins = [u["login"] for u in self.admin.list_users()]
        self.assertIn(self.user_login, logins)

    # -- personal API keys -------------------------------------------------------------------------------

    def test_personal_api_key_create_list_get_update_delete(self):
        made = self.user.create_personal_api_key("py-label", "py-description")
        self.assertTrue(made["id"])
        self.assertTrue(made["key"])
        fresh = WireClient(self.url + "/", api_key=made["key"])
        self.assertEqual(fresh.get_auth_info()["authIdentifier"], self.user_login)

        items = [k for k in self.user.list_personal_api_keys() if k["id"] == made["id"]]
        self.assertEqual(len(items), 1)
        item = items[0]
        for field in ("id", "user", "key", "label", "description", "createdOn", "createdBy"):
            self.assertIn(field, item)
        self.assertEqual(item["user"], self.user_login)
        self.assertIsInstance(item["createdOn"], int)
        self.assertNotEqual(item["key"], made["key"])

        handle = self.user.get_personal_api_key(made["id"])
        definition = handle.get_definition()
        self.assertEqual(definition["user"], self.user_login)
        definition["label"] = "py-label-2"
        definition["description"] = "py-description-2"
        handle.set_definition(definition)
        self.assertEqual(handle.get_definition()["label"], "py-label-2")

        handle.delete()
        with self.assertRaises(DataikuWireError):
            fresh.get_auth_info()
        self.assertNotIn(made["id"], [k["id"] for k in self.user.list_personal_api_keys()])

    def test_admin_creates_personal_api_key_for_user(self):
        key = self.admin.create_personal_api_key_for_user(self.user_login, "py-admin-made", "")
        self.assertIsInstance(key, WirePersonalApiKey)
        self.assertTrue(key.id_)
        self.assertTrue(key.key)
        as_user = WireClient(self.url + "/", api_key=key.key)
        self.assertEqual(as_user.get_auth_info()["authIdentifier"], self.user_login)
        listed = [k for k in self.admin.list_all_personal_api_keys() if k["id"] == key.id_]
        self.assertEqual([k["user"] for k in listed], [self.user_login])
        self.admin.get_personal_api_key(key.id_).delete()
        with self.assertRaises(DataikuWireError):
            as_user.get_auth_info()
        with self.assertRaises(DataikuWireError):
            self.user.create_personal_api_key_for_user(self.admin_login, "not allowed", "")

    # -- webapp helpers ----------------------------------------------------------------------------------

    def test_browser_headers_helpers_answer_for_the_callers_own_browser(self):
        cookie = os.environ.get("COFFER_USER_COOKIE")
        if not cookie:
            self.skipTest("COFFER_USER_COOKIE not set")
        headers = {"Host": "dss.example", "User-Agent": "Mozilla/5.0", "Cookie": cookie}
        info = self.user.get_auth_info_from_browser_headers(headers, with_secrets=True)
        self.assertEqual(info["authIdentifier"], self.user_login)
        self.assertIn({"key": "credential-for-my-api", "value": self.secret_value}, info["secrets"])
        answer = self.user.get_ticket_from_browser_headers(headers)
        ticket_client = WireClient(self.url + "/", internal_ticket=answer["msg"])
        self.assertEqual(run_seed_snippet(ticket_client), self.secret_value)
        with self.assertRaises(DataikuWireError):
            self.other.get_auth_info_from_browser_headers(headers, with_secrets=True)

    # -- errors ------------------------------------------------------------------------------------------

    def raw_error_body(self, client, method, path, params=None):
        url = "%s/dip/publicapi%s" % (client.host, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        res = WireClient._send(method, url, None, dict(client.headers))
        self.assertGreaterEqual(res.status_code, 400)
        self.assertEqual(res.headers.get("Content-Type"), "application/json")
        return res.json()

    def assert_dss_error(self, client, method, path, params=None):
        body = self.raw_error_body(client, method, path, params)
        for field in ("errorType", "message", "detailedMessage", "code"):
            self.assertIn(field, body)
        with self.assertRaises(DataikuWireError) as ctx:
            client._perform_json(method, path, params=params)
        self.assertEqual(str(ctx.exception), "%s: %s" % (body["errorType"], body["detailedMessage"]))
        return str(ctx.exception)

    def test_errors_parse_as_error_type_and_detailed_message(self):
        bad_bool = self.assert_dss_error(self.user, "GET", "/auth/info", params={"withSecrets": "maybe"})
        self.assertIn("withSecrets", bad_bool)
        self.assert_dss_error(WireClient(self.url + "/", api_key=self.user_key + "x"), "GET", "/auth/info")
        self.assert_dss_error(self.user, "GET", "/admin/users/")
        self.assert_dss_error(self.user, "GET", "/no/such/route")
        self.assert_dss_error(self.admin, "GET", "/admin/users/%s" % unique("nobody"))

    def test_impersonation_header_is_refused_with_a_clear_error(self):
        as_user = WireClient(self.url + "/", api_key=self.admin_key, extra_headers={"X-DKU-ProxyUser": self.user_login})
        with self.assertRaises(DataikuWireError) as ctx:
            as_user.get_auth_info(with_secrets=True)
        self.assertIn("X-DKU-ProxyUser", str(ctx.exception))


# ---------------------------------------------------------------------------------------------------
# Plugins: the calls of the current dataikuapi, in the order an administrator and a user make them
# ---------------------------------------------------------------------------------------------------

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SAMPLE_PLUGIN = os.path.join(ROOT, "examples", "plugins", "api-connect")
PLUGIN_ID = "api-connect"
PARAMETER_SET = "api-credentials"
PRESET = "from-client"
USER_TOKEN = "py-user-token-7c1e95d0b2a4"
OTHER_TOKEN = "py-user-token-by-settings-41f08a"
# The form of test/plugins.test.ts (FETCH_CONFIG), pointing at the preset made through dataikuapi.
FETCH_CONFIG = {
    "endpoint": "/v1/orders",
    "page_size": 25,
    "format": "csv",
    "show_raw": False,
    "credentials": {"mode": "PRESET", "name": PRESET},
    "secret_name": "credential-for-my-api",
}


class RecordingWireClient(WireClient):
    """A WireClient that keeps every response body, to show that no plaintext credential is ever sent."""

    def __init__(self, *args, seen, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = seen

    def _send(self, method, url, data, headers):
        res = WireClient._send(method, url, data, headers)
        self.seen.append("%s %s -> %d %s" % (method, url, res.status_code, res.text))
        return res


def zip_folder(folder, target):
    """The plugin folder zipped with paths relative to it, as an administrator would."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(root, name)
                z.write(full, os.path.relpath(full, folder).replace(os.sep, "/"))


class CofferAnswersDataikuapiPlugins(unittest.TestCase):
    """Steps run in name order (unittest sorts them) and build on each other: install, preset, token,
    recipe, update, user settings, then removal. A failed step makes the later ones fail too."""

    @classmethod
    def setUpClass(cls):
        cls.url = env("COFFER_URL").rstrip("/")
        cls.user_login = env("COFFER_USER_LOGIN")
        cls.user_key = env("COFFER_USER_KEY")
        cls.project_key = env("COFFER_PROJECT_KEY")
        cls.seen = []
        cls.admin = RecordingWireClient(cls.url + "/", api_key=env("COFFER_ADMIN_KEY"), seen=cls.seen)
        cls.user = RecordingWireClient(cls.url + "/", api_key=cls.user_key, seen=cls.seen)
        cls.recipe = unique("py-fetch")
        cls.folder = tempfile.mkdtemp()
        cls.zip = os.path.join(cls.folder, "api-connect.zip")
        zip_folder(SAMPLE_PLUGIN, cls.zip)
        cls.credential_key = plugin_credential_key(PLUGIN_ID, PARAMETER_SET, PRESET, "token")

    @classmethod
    def tearDownClass(cls):
        try:
            if PLUGIN_ID in [p["id"] for p in cls.admin.list_plugins()]:
                cls.admin.get_plugin(PLUGIN_ID).delete(force=True)
        finally:
            shutil.rmtree(cls.folder)

    def coffer(self, method, path, body=None, key=None):
        """Coffer's own API (not dataikuapi's): urllib, the user's key as a Bearer token."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + (key or self.user_key))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                status, text = res.status, res.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode("utf-8")
        self.seen.append("%s %s -> %d %s" % (method, path, status, text))
        return status, text

    def my_credential(self):
        status, text = self.coffer("GET", "/api/v1/me/plugin-credentials")
        self.assertEqual(status, 200, text)
        place = (PLUGIN_ID, PARAMETER_SET, PRESET, "token")
        mine = [c for c in json.loads(text)["credentials"]
                if (c["plugin"], c["parameterSet"], c["preset"], c["param"]) == place]
        self.assertEqual(len(mine), 1, text)
        return mine[0]

    def user_marker(self):
        return self.user.get_own_user().get_settings().credentials.get(self.credential_key)

    # -- administrator: install, list, presets -------------------------------------------------------

    def test_01_install_plugin_from_archive_then_list_plugins(self):
        with open(self.zip, "rb") as fp:
            self.assertIsNone(self.admin.install_plugin_from_archive(fp))
        plugins = self.admin.list_plugins()
        self.assertIsInstance(plugins, list)
        self.assertIn(PLUGIN_ID, [p["id"] for p in plugins])

    def test_02_create_preset_with_defaults_and_save_settings(self):
        plugin = self.admin.get_plugin(PLUGIN_ID)
        settings = plugin.get_settings()
        self.assertIn(PARAMETER_SET, settings.list_parameter_set_names())
        parameter_set = settings.get_parameter_set(PARAMETER_SET)
        self.assertIsNotNone(parameter_set)
        self.assertIs(parameter_set.definable_inline, False)
        self.assertNotIn(PRESET, parameter_set.list_preset_names())
        preset = parameter_set.create_preset(PRESET, with_defaults=True)
        self.assertEqual(preset["config"], {"base_url": "https://api.example.com"})
        settings.save()

        again = plugin.get_settings().get_parameter_set(PARAMETER_SET)
        self.assertIn(PRESET, again.list_preset_names())
        self.assertEqual(again.get_preset(PRESET)["config"], {"base_url": "https://api.example.com"})
        # The same settings saved again unchanged: a round trip that keeps the preset.
        reread = plugin.get_settings()
        reread.save()
        self.assertIn(PRESET, plugin.get_settings().get_parameter_set(PARAMETER_SET).list_preset_names())

    def test_02b_a_save_never_deletes_a_preset_its_read_did_not_see(self):
        plugin = self.admin.get_plugin(PLUGIN_ID)
        stale = plugin.get_settings()
        meanwhile = plugin.get_settings()
        meanwhile.get_parameter_set(PARAMETER_SET).create_preset("made-meanwhile", with_defaults=True)
        meanwhile.save()
        # The stale object never saw that preset. With the same key, Coffer cannot tell another script
        # from this one having dropped it, so it refuses rather than delete it.
        with self.assertRaises(DataikuWireError) as ctx:
            stale.save()
        self.assertIn("made-meanwhile", str(ctx.exception))
        self.assertIn("made-meanwhile", plugin.get_settings().get_parameter_set(PARAMETER_SET).list_preset_names())
        # Read again, drop it, save: now it goes.
        fresh = plugin.get_settings()
        fresh.get_raw()["presets"] = [p for p in fresh.get_raw()["presets"] if p["name"] != "made-meanwhile"]
        fresh.save()
        names = plugin.get_settings().get_parameter_set(PARAMETER_SET).list_preset_names()
        self.assertNotIn("made-meanwhile", names)
        self.assertIn(PRESET, names)

    def test_03_list_usages_of_an_unused_plugin(self):
        usages = self.admin.get_plugin(PLUGIN_ID).list_usages()
        self.assertIsInstance(usages._data["usages"], list)
        self.assertIsInstance(usages._data["missingTypes"], list)
        self.assertEqual(usages.usages, [])
        self.assertIs(usages.maybe_used(), False)

    # -- the user: a token, a recipe --------------------------------------------------------------------

    def test_04_user_enters_a_token_and_makes_a_recipe_that_list_usages_shows(self):
        status, text = self.coffer(
            "PUT", "/api/v1/me/plugin-credentials/%s/%s/%s/token" % (PLUGIN_ID, PARAMETER_SET, PRESET),
            {"value": USER_TOKEN},
        )
        self.assertIn(status, (200, 201, 204), text)
        self.assertIs(self.my_credential()["set"], True)
        status, text = self.coffer(
            "PUT", "/api/v1/projects/%s/recipes/%s" % (self.project_key, self.recipe),
            {"plugin": {"id": PLUGIN_ID, "recipe": "fetch"}, "config": FETCH_CONFIG},
        )
        self.assertEqual(status, 201, text)

        usages = self.admin.get_plugin(PLUGIN_ID).list_usages()
        mine = [u for u in usages.usages if u["object_id"] == self.recipe]
        self.assertEqual(len(mine), 1, usages._data)
        self.assertEqual(mine[0]["project_key"], self.project_key)
        self.assertEqual(mine[0]["object_type"], "RECIPE")
        self.assertIs(usages.maybe_used(), True)
        in_project = self.admin.get_plugin(PLUGIN_ID).list_usages(project_key=self.project_key)
        self.assertIn(self.recipe, [u["object_id"] for u in in_project.usages])

    def test_05_update_from_zip_keeps_presets_and_the_users_token(self):
        marker = self.user_marker()
        with open(self.zip, "rb") as fp:
            self.assertIsNone(self.admin.get_plugin(PLUGIN_ID).update_from_zip(fp))
        names = self.admin.get_plugin(PLUGIN_ID).get_settings().get_parameter_set(PARAMETER_SET).list_preset_names()
        self.assertIn(PRESET, names)
        self.assertIs(self.my_credential()["set"], True)
        self.assertEqual(self.user_marker(), marker)

    # -- the user's DSS settings: credentials as markers ------------------------------------------------

    def test_06_user_settings_show_the_credential_as_a_marker_and_save_keeps_it(self):
        settings = self.user.get_own_user().get_settings()
        self.assertIsInstance(settings.credentials, dict)
        entry = settings.credentials[self.credential_key]
        self.assertEqual(entry["type"], "SINGLE_FIELD")
        self.assertTrue(entry["password"].startswith("e:AES:"), entry)
        self.assertNotIn(USER_TOKEN, json.dumps(settings.get_raw()))
        # dataikuapi's save(): get_raw() sent back unchanged.
        settings.save()
        self.assertEqual(self.user_marker(), entry)
        self.assertIs(self.my_credential()["set"], True)

    def test_07_administrator_sees_the_marker_but_cannot_remove_the_credential(self):
        settings = self.admin.get_user(self.user_login).get_settings()
        marker = settings.credentials[self.credential_key]
        self.assertTrue(marker["password"].startswith("e:AES:"))
        settings.save()  # unchanged: allowed
        settings = self.admin.get_user(self.user_login).get_settings()
        settings.remove_plugin_credential(PLUGIN_ID, PARAMETER_SET, PRESET, "token")
        with self.assertRaises(DataikuWireError):
            settings.save()
        self.assertEqual(self.user_marker(), marker)

    def test_08_user_sets_and_removes_the_credential_through_settings(self):
        before = self.user_marker()
        settings = self.user.get_own_user().get_settings()
        # dataikuapi has no single-field setter: set_basic_plugin_credential's password is the value
        # Coffer keeps for this SINGLE_FIELD parameter (the login is not used).
        settings.set_basic_plugin_credential(PLUGIN_ID, PARAMETER_SET, PRESET, "token", "unused-login", OTHER_TOKEN)
        settings.save()
        after = self.user_marker()
        self.assertTrue(after["password"].startswith("e:AES:"))
        self.assertNotEqual(after, before)
        self.assertIs(self.my_credential()["set"], True)

        settings = self.user.get_own_user().get_settings()
        settings.remove_plugin_credential(PLUGIN_ID, PARAMETER_SET, PRESET, "token")
        settings.save()
        self.assertIsNone(self.user_marker())
        self.assertIs(self.my_credential()["set"], False)

        status, text = self.coffer(
            "PUT", "/api/v1/me/plugin-credentials/%s/%s/%s/token" % (PLUGIN_ID, PARAMETER_SET, PRESET),
            {"value": USER_TOKEN},
        )
        self.assertIn(status, (200, 201, 204), text)

    def test_08b_a_stale_settings_object_keeps_a_token_replaced_after_its_read(self):
        stale = self.user.get_own_user().get_settings()
        status, text = self.coffer(
            "PUT", "/api/v1/me/plugin-credentials/%s/%s/%s/token" % (PLUGIN_ID, PARAMETER_SET, PRESET),
            {"value": OTHER_TOKEN},
        )
        self.assertIn(status, (200, 201, 204), text)
        replaced = self.user_marker()
        self.assertNotEqual(replaced, stale.credentials[self.credential_key])
        # save() sends the old marker back: it keeps what is stored now, and is never stored as a token.
        stale.save()
        self.assertEqual(self.user_marker(), replaced)

    # -- removal ------------------------------------------------------------------------------------------

    def test_09_delete_without_force_is_refused_while_a_recipe_uses_the_plugin(self):
        with self.assertRaises(DataikuWireError) as ctx:
            self.admin.get_plugin(PLUGIN_ID).delete(force=False)
        self.assertRegex(str(ctx.exception), r"^\S+: .+")
        self.assertIn("%s/%s" % (self.project_key, self.recipe), str(ctx.exception))
        self.assertIn(PLUGIN_ID, [p["id"] for p in self.admin.list_plugins()])

    def test_10_delete_with_force_answers_a_finished_future(self):
        future = self.admin.get_plugin(PLUGIN_ID).delete(force=True)
        self.assertIsInstance(future, WireFuture)
        self.assertIsInstance(future.state.get("jobId"), str)
        self.assertIs(future.state.get("hasResult"), True)
        calls = len(self.seen)
        future.wait_for_result()
        self.assertEqual(len(self.seen), calls, "a finished future must not be polled")
        self.assertNotIn(PLUGIN_ID, [p["id"] for p in self.admin.list_plugins()])

    def test_11_no_response_ever_held_a_plaintext_token(self):
        self.assertGreater(len(self.seen), 10)
        for line in self.seen:
            self.assertNotIn(USER_TOKEN, line)
            self.assertNotIn(OTHER_TOKEN, line)



class WireFutureGetResult(WireFuture):
    """WireFuture with get_result() as dss/future.py has it. A future made by from_resp() counts its state
    as a peek, so get_result() GETs /futures/{jobId}?peek=False first, even when it has finished: with no
    jobId that would be /futures/None."""

    @staticmethod
    def of(future):
        return WireFutureGetResult(future.client, future.job_id, state=future.state)

    def get_result(self):
        if self.state is None or not self.state.get("hasResult", False) or self.state_is_peek:
            self.get_state()
        if self.state.get("hasResult", False):
            return self.state.get("result", None)
        raise AssertionError("Result not ready")


class CofferAnswersFinishedFutures(unittest.TestCase):
    """plugin.delete() answers a DSSFuture; Coffer's has finished already, and the client's get_result()
    (which asks /futures/{jobId} again) and wait_for_result() both read its result."""

    @classmethod
    def setUpClass(cls):
        cls.seen = []
        cls.admin = RecordingWireClient(env("COFFER_URL").rstrip("/") + "/", api_key=env("COFFER_ADMIN_KEY"),
                                        seen=cls.seen)

    def bare_plugin(self):
        """A plugin that is only its plugin.json, installed: answers its id."""
        plugin_id = unique("future-plugin")
        folder = tempfile.mkdtemp()
        try:
            path = os.path.join(folder, "plugin.zip")
            with zipfile.ZipFile(path, "w") as z:
                z.writestr("plugin.json", json.dumps({"id": plugin_id, "version": "1.0.0"}))
            with open(path, "rb") as fp:
                self.admin.install_plugin_from_archive(fp)
        finally:
            shutil.rmtree(folder)
        return plugin_id

    def test_get_result_of_a_plugin_delete_asks_the_future_again_and_reads_its_result(self):
        plugin_id = self.bare_plugin()
        future = WireFutureGetResult.of(self.admin.get_plugin(plugin_id).delete(force=False))
        calls = len(self.seen)
        self.assertEqual(future.get_result(), {"brokenRecipes": 0})
        self.assertEqual(len(self.seen), calls + 1, "get_result() asks for the future once")
        self.assertIn("/futures/%s" % future.job_id, self.seen[-1])
        self.assertEqual(future.wait_for_result(), {"brokenRecipes": 0})
        self.assertNotIn(plugin_id, [p["id"] for p in self.admin.list_plugins()])

    def test_a_future_coffer_never_answered_is_not_found(self):
        with self.assertRaises(DataikuWireError) as ctx:
            WireFutureGetResult(self.admin, "None").get_result()
        self.assertRegex(str(ctx.exception), r"NotFoundException: there is no future")


if __name__ == "__main__":
    unittest.main()
