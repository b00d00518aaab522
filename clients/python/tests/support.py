"""Shared helpers of the tests: the server and credentials the vitest suite prepared, a clean environment
per test, a temporary HOME with a ~/.dataiku/config.json, and small local HTTP servers standing in for
wrong addresses.

test/python-client.test.ts sets (all required; a missing one fails rather than skips):
  COFFER_TEST_URL                   the Coffer server
  COFFER_TEST_USER_LOGIN/_KEY       a user with "credential-for-my-api" = COFFER_TEST_USER_SECRET_HEX
                                    (hex of its UTF-8) and "another-secret" = "plain-ascii-value"
  COFFER_TEST_TICKET                a ticket of that user
  COFFER_TEST_USER_COOKIE           that user's browser session cookie ("name=value")
  COFFER_TEST_OTHER_LOGIN/_KEY      a user with "credential-for-my-api" = COFFER_TEST_OTHER_SECRET_HEX
  COFFER_TEST_CONFIG_LOGIN/_KEY     a user named only by ~/.dataiku/config.json in the discovery tests
  COFFER_TEST_EXPLICIT_LOGIN/_KEY   a user named only by set_remote_dss() in the discovery tests
  COFFER_TEST_EDITOR_LOGIN/_KEY     a user whose secrets and keys the tests change; it starts with one
                                    secret, "editor-base" = COFFER_TEST_EDITOR_SECRET_HEX
  COFFER_TEST_REVOKED_KEY           a revoked key of the user
  COFFER_TEST_REVOKED_MESSAGE       the server's detailedMessage for it
"""

import contextlib
import http.server
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import unittest
import uuid

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, PACKAGE_ROOT)

import dataiku  # noqa: E402  (after the path is set)

SECRET_NAME = "credential-for-my-api"


def need_env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            "%s is not set: these tests run against a server that test/python-client.test.ts starts "
            "(npx vitest run test/python-client.test.ts)" % name
        )
    return value


def hex_to_text(name):
    return bytes.fromhex(need_env(name)).decode("utf-8")


class Fixture(object):
    """The values the vitest suite prepared, read once."""

    def __init__(self):
        self.url = need_env("COFFER_TEST_URL").rstrip("/")
        self.port = self.url.rsplit(":", 1)[1]
        self.user_login = need_env("COFFER_TEST_USER_LOGIN")
        self.user_key = need_env("COFFER_TEST_USER_KEY")
        self.user_secret = hex_to_text("COFFER_TEST_USER_SECRET_HEX")
        self.ticket = need_env("COFFER_TEST_TICKET")
        self.user_cookie = need_env("COFFER_TEST_USER_COOKIE")
        self.other_login = need_env("COFFER_TEST_OTHER_LOGIN")
        self.other_key = need_env("COFFER_TEST_OTHER_KEY")
        self.other_secret = hex_to_text("COFFER_TEST_OTHER_SECRET_HEX")
        self.config_login = need_env("COFFER_TEST_CONFIG_LOGIN")
        self.config_key = need_env("COFFER_TEST_CONFIG_KEY")
        self.explicit_login = need_env("COFFER_TEST_EXPLICIT_LOGIN")
        self.explicit_key = need_env("COFFER_TEST_EXPLICIT_KEY")
        self.editor_login = need_env("COFFER_TEST_EDITOR_LOGIN")
        self.editor_key = need_env("COFFER_TEST_EDITOR_KEY")
        self.editor_secret = hex_to_text("COFFER_TEST_EDITOR_SECRET_HEX")
        self.revoked_key = need_env("COFFER_TEST_REVOKED_KEY")
        self.revoked_message = need_env("COFFER_TEST_REVOKED_MESSAGE")

    def as_user_key(self):
        return {"DKU_DSS_URL": self.url, "DKU_API_KEY": self.user_key}

    def as_user_ticket(self):
        return {"DKU_API_TICKET": self.ticket, "DKU_BACKEND_HOST": "127.0.0.1", "DKU_BACKEND_PORT": self.port}


_fixture = None


def fixture():
    global _fixture
    if _fixture is None:
        _fixture = Fixture()
    return _fixture


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


@contextlib.contextmanager
def dku_env(values=None, home=None):
    """Runs the block with no DKU_* variable but `values`, HOME set to `home` (an empty temporary
    directory by default, so no real ~/.dataiku/config.json gets in) and no set_remote_dss()."""
    saved = dict(os.environ)
    own_home = None
    if home is None:
        own_home = home = tempfile.mkdtemp(prefix="coffer-py-home-")
    try:
        for k in list(os.environ):
            if k.startswith("DKU_"):
                del os.environ[k]
        os.environ["HOME"] = home
        os.environ["USERPROFILE"] = home
        os.environ.update(values or {})
        dataiku.clear_remote_dss()
        yield home
    finally:
        dataiku.clear_remote_dss()
        os.environ.clear()
        os.environ.update(saved)
        if own_home:
            shutil.rmtree(own_home, ignore_errors=True)


class TempHomes(object):
    """Temporary HOME directories holding a ~/.dataiku/config.json, removed by cleanup()."""

    def __init__(self):
        self.dirs = []

    def with_config(self, config):
        home = tempfile.mkdtemp(prefix="coffer-py-home-")
        self.dirs.append(home)
        os.makedirs(os.path.join(home, ".dataiku"))
        with open(os.path.join(home, ".dataiku", "config.json"), "w", encoding="utf-8") as f:
            f.write(config if isinstance(config, str) else json.dumps(config))
        return home

    def cleanup(self):
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def dead_url():
    """The URL of a port nothing listens on: bound, read, released."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d" % port


class LocalServer(object):
    """A small HTTP server in a thread. Records every request as (method, raw target, headers, body).

    Under /html/ it answers 200 with a web page, under /redirect/ a redirect to `redirect_to` + the rest
    of the path, under /text-error/ a 502 with a plain-text body; elsewhere 200 with `{}`
    (or `{"id": "k1", "key": "secret-key"}` for POSTs, the answer of a key creation).
    """

    def __init__(self, redirect_to=None):
        seen = self.seen = []
        target_base = redirect_to

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.requestline.split(" ")[1]
                seen.append((self.command, target, {k.lower(): v for k, v in self.headers.items()}, body))
                if target.startswith("/html/"):
                    self._reply(200, "text/html; charset=utf-8", b"<html><body>Sign in</body></html>")
                elif target.startswith("/redirect/"):
                    self.send_response(302)
                    self.send_header("Location", target_base + target[len("/redirect"):])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif target.startswith("/text-error/"):
                    self._reply(502, "text/plain", b"Bad gateway: upstream\n   is down")
                elif self.command == "POST":
                    self._reply(200, "application/json", b'{"id": "k1", "key": "made-key"}')
                else:
                    self._reply(200, "application/json", b"{}")

            def _reply(self, status, content_type, payload):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _any

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ServerTestCase(unittest.TestCase):
    """A TestCase with `self.f`, the fixture."""

    @classmethod
    def setUpClass(cls):
        cls.f = fixture()

    def who(self):
        info = dataiku.api_client().get_auth_info()
        return "%s %s" % (info["authIdentifier"], info["authSource"])

    def values(self, client):
        return {s["key"]: s["value"] for s in client.get_auth_info(with_secrets=True)["secrets"]}
