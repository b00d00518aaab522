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
* errors: any status >= 400 raises DataikuWireError("<errorType>: <detailedMessage or message>");
* requests headers: User-Agent python-requests, Accept */*, Accept-Encoding gzip/deflate.

One deliberate difference: requests follows redirects, this helper fails on them, because the server
must never redirect (a redirect turns PUT/POST into GET and drops the body).

The server and credentials come from the environment (test/python-contract.test.ts sets them):
COFFER_URL, COFFER_USER_LOGIN, COFFER_USER_KEY, COFFER_SECRET_VALUE (the user's value of
"credential-for-my-api"), COFFER_ADMIN_LOGIN, COFFER_ADMIN_KEY, COFFER_OTHER_KEY (a user without that
secret), and optionally COFFER_TICKET (a ticket of the user) and COFFER_USER_COOKIE (the user's browser
session cookie, "name=value").
"""

import base64
import gzip
import http.client
import http.server
import json
import os
import threading
import unittest
import urllib.parse
import uuid
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

    def _perform_http(self, method, path, params=None, body=None):
        url = "%s/dip/publicapi%s" % (self.host, path)
        if params:
            pairs = [(k, v) for k, v in params.items() if v is not None]
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs, doseq=True)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        headers = dict(self.headers)
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

    def _perform_json(self, method, path, params=None, body=None):
        return self._perform_http(method, path, params=params, body=body).json()

    def _perform_text(self, method, path, params=None, body=None):
        return self._perform_http(method, path, params=params, body=body).text

    def _perform_empty(self, method, path, params=None, body=None):
        self._perform_http(method, path, params=params, body=body)

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


if __name__ == "__main__":
    unittest.main()
