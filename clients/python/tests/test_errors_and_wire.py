"""How failures read (the server's own message, the URL of a server that cannot be reached, no
credential or value in any message) and what the client puts on the wire."""

import base64
import json
import traceback
import unittest
import urllib.error
import urllib.request

from support import SECRET_NAME, LocalServer, ServerTestCase, dead_url, dku_env

import dataiku


def raw_error(url, key):
    """The server's own error answer, fetched without the client: (status, content type, JSON body)."""
    token = base64.b64encode(("%s:" % key).encode()).decode()
    req = urllib.request.Request(url, headers={"Authorization": "Basic " + token})
    try:
        urllib.request.urlopen(req, timeout=30)
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type"), json.loads(err.read().decode("utf-8"))
    raise AssertionError("%s answered without an error" % url)


class ServerErrors(ServerTestCase):
    def assert_no_secrets_in(self, text):
        for secret in (self.f.user_secret, self.f.other_secret, self.f.editor_secret, "plain-ascii-value",
                       self.f.user_key, self.f.other_key, self.f.ticket, self.f.revoked_key):
            self.assertNotIn(secret, text)

    def test_revoked_key_gives_401_with_the_servers_message_built_like_dataikuapi(self):
        url = "%s/dip/publicapi/auth/info?withSecrets=true" % self.f.url
        status, content_type, body = raw_error(url, self.f.revoked_key)
        self.assertEqual(status, 401)
        self.assertEqual(body["detailedMessage"], self.f.revoked_message)
        with dku_env({"DKU_DSS_URL": self.f.url, "DKU_API_KEY": self.f.revoked_key}):
            with self.assertRaises(dataiku.DataikuException) as ctx:
                dataiku.api_client().get_auth_info(with_secrets=True)
            err = ctx.exception
            self.assertEqual(str(err), "%s: %s" % (body["errorType"], body["detailedMessage"]))
            self.assertIn(self.f.revoked_message, str(err))
            self.assertEqual(err.status, 401)
            self.assertEqual(err.error_type, body["errorType"])
            self.assertEqual(err.detailed_message, self.f.revoked_message)
            self.assertEqual(err.code, body.get("code"))
            self.assertEqual(err.method, "GET")
            self.assertEqual(err.url, "%s/dip/publicapi/auth/info" % self.f.url)
            self.assert_no_secrets_in(str(err) + repr(err))
            self.assert_no_secrets_in("".join(traceback.format_exception(type(err), err, err.__traceback__)))
            with self.assertRaises(dataiku.DataikuException) as ctx:
                dataiku.get_secret(SECRET_NAME)
            self.assertIn(self.f.revoked_message, str(ctx.exception))

    def test_an_unknown_ticket_gives_401_naming_the_ticket(self):
        with dku_env({"DKU_API_TICKET": self.f.ticket + "x", "DKU_BACKEND_PORT": self.f.port}):
            with self.assertRaises(dataiku.DataikuException) as ctx:
                dataiku.get_auth_info(with_secrets=True)
            self.assertEqual(ctx.exception.status, 401)
            self.assertRegex(str(ctx.exception), r"(?i)^\S+: .*ticket")
            self.assert_no_secrets_in(str(ctx.exception))

    def test_a_url_that_is_not_the_servers_root_gives_the_404_message(self):
        client = dataiku.DSSClient(self.f.url + "/not-here", api_key=self.f.user_key)
        with self.assertRaises(dataiku.DataikuException) as ctx:
            client.get_auth_info()
        self.assertEqual(ctx.exception.status, 404)
        self.assertRegex(str(ctx.exception), r"^\S+: .+")

    def test_errors_of_other_calls_carry_error_type_and_detailed_message(self):
        client = dataiku.DSSClient(self.f.url, api_key=self.f.user_key)
        with self.assertRaises(dataiku.DataikuException) as ctx:
            client._perform_json("GET", "/admin/users/")
        self.assertIn(ctx.exception.status, (401, 403))
        self.assertEqual(str(ctx.exception), "%s: %s" % (ctx.exception.error_type, ctx.exception.detailed_message))
        with self.assertRaises(dataiku.DataikuException) as ctx:
            client._perform_json("GET", "/auth/info", params={"withSecrets": "maybe"})
        self.assertEqual(ctx.exception.status, 400)
        self.assertIn("withSecrets", str(ctx.exception))

    def test_impersonation_never_yields_secrets(self):
        client = dataiku.DSSClient(self.f.url, api_key=self.f.other_key,
                                   extra_headers={"X-DKU-ProxyUser": self.f.user_login})
        with self.assertRaises(dataiku.DataikuException) as ctx:
            client.get_auth_info(with_secrets=True)
        self.assertIn(ctx.exception.status, (400, 401, 403))
        self.assert_no_secrets_in(str(ctx.exception))


class TransportErrors(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.local = LocalServer(redirect_to=cls.f.url)

    @classmethod
    def tearDownClass(cls):
        cls.local.close()

    def test_a_server_that_cannot_be_reached_names_the_url(self):
        url = dead_url()
        with dku_env({"DKU_DSS_URL": url, "DKU_API_KEY": self.f.user_key}):
            with self.assertRaises(dataiku.DataikuConnectionError) as ctx:
                dataiku.get_auth_info(with_secrets=True)
        err = ctx.exception
        self.assertIsInstance(err, ConnectionError)
        self.assertIn("could not reach the server at %s/dip/publicapi/auth/info" % url, str(err))
        self.assertEqual(err.url, "%s/dip/publicapi/auth/info" % url)
        self.assertNotIn(self.f.user_key, str(err))
        self.assertIsNone(err.__context__, "no chained low-level exception")

    def test_a_web_page_answering_200_is_a_protocol_error(self):
        client = dataiku.DSSClient(self.local.url + "/html", api_key=self.f.user_key)
        with self.assertRaises(dataiku.DataikuProtocolError) as ctx:
            client.get_auth_info()
        self.assertIn("not with JSON", str(ctx.exception))
        self.assertIn(self.local.url + "/html", str(ctx.exception))

    def test_a_non_json_error_body_gives_status_and_text(self):
        client = dataiku.DSSClient(self.local.url + "/text-error", api_key=self.f.user_key)
        with self.assertRaises(dataiku.DataikuException) as ctx:
            client.get_auth_info()
        self.assertEqual(str(ctx.exception), "HTTP 502 Bad Gateway: Bad gateway: upstream is down")
        self.assertEqual(ctx.exception.status, 502)
        self.assertIsNone(ctx.exception.error_type)

    def test_a_redirect_is_not_followed_with_the_credential(self):
        before = len(self.local.seen)
        client = dataiku.DSSClient(self.local.url + "/redirect", api_key=self.f.user_key)
        with self.assertRaises(dataiku.DataikuException) as ctx:
            client.get_auth_info(with_secrets=True)
        self.assertEqual(ctx.exception.status, 302)
        self.assertIn("redirect", str(ctx.exception))
        self.assertIn(self.f.url, str(ctx.exception))
        self.assertNotIn(self.f.user_key, str(ctx.exception))
        self.assertEqual(len(self.local.seen), before + 1)

    def test_a_credential_with_a_newline_is_refused_without_showing_it(self):
        for kwargs in ({"api_key": "abc\ndef-key"}, {"internal_ticket": "abc\rdef-ticket"}):
            with self.assertRaises(ValueError) as ctx:
                dataiku.DSSClient(self.f.url, **kwargs)
            self.assertNotIn("def-", str(ctx.exception))
        with self.assertRaises(ValueError):
            dataiku.DSSClient(self.f.url)
        with self.assertRaises(ValueError):
            dataiku.DSSClient("coffer.example.com", api_key="k")

    def test_repr_hides_the_credential(self):
        client = dataiku.DSSClient(self.f.url, api_key=self.f.user_key)
        self.assertNotIn(self.f.user_key, repr(client))


class Wire(unittest.TestCase):
    """What goes on the wire, recorded by a local server."""

    def setUp(self):
        self.local = LocalServer()
        self.addCleanup(self.local.close)

    def last(self):
        return self.local.seen[-1]

    def test_api_key_is_basic_auth_with_the_key_as_user_name_and_an_empty_password(self):
        dataiku.DSSClient(self.local.url + "/", api_key="the-key").get_auth_info(with_secrets=True)
        method, target, headers, body = self.last()
        self.assertEqual(method, "GET")
        self.assertEqual(target, "/dip/publicapi/auth/info?withSecrets=true")
        self.assertEqual(headers["authorization"], "Basic " + base64.b64encode(b"the-key:").decode())
        self.assertNotIn("x-dku-apiticket", headers)
        self.assertEqual(body, b"")
        dataiku.DSSClient(self.local.url, api_key="k").get_auth_info()
        self.assertEqual(self.last()[1], "/dip/publicapi/auth/info?withSecrets=false")

    def test_a_ticket_goes_in_x_dku_apiticket_without_authorization(self):
        dataiku.DSSClient(self.local.url, internal_ticket="tick").get_auth_info()
        headers = self.last()[2]
        self.assertEqual(headers["x-dku-apiticket"], "tick")
        self.assertNotIn("authorization", headers)

    def test_api_client_in_ticket_mode_sends_the_ticket_to_the_backend(self):
        port = self.local.url.rsplit(":", 1)[1]
        with dku_env({"DKU_API_TICKET": "job-ticket", "DKU_BACKEND_PORT": port}):
            dataiku.get_auth_info()
        self.assertEqual(self.last()[2]["x-dku-apiticket"], "job-ticket")

    def test_settings_save_puts_the_whole_object_as_json(self):
        client = dataiku.DSSClient(self.local.url, api_key="k")
        settings = dataiku.DSSOwnUserSettings(client, {
            "login": "u", "userProperties": {"a": "b"}, "credentials": {},
            "secrets": [{"name": "old", "value": "e:AES:marker", "secret": True},
                        {"name": "x", "value": "e:AES:x", "secret": True}],
        })
        settings.add_secret("x", "caf\u00e9")
        settings.add_secret("new", "v")
        settings.remove_secret("gone")
        settings.save()
        method, target, headers, body = self.last()
        self.assertEqual((method, target), ("PUT", "/dip/publicapi/current-user"))
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(headers["content-length"], str(len(body)))
        self.assertEqual(json.loads(body.decode("utf-8")), {
            "login": "u", "userProperties": {"a": "b"}, "credentials": {},
            "secrets": [{"name": "old", "value": "e:AES:marker", "secret": True},
                        {"name": "x", "value": "caf\u00e9", "secret": True},
                        {"name": "new", "value": "v", "secret": True}],
        })

    def test_personal_api_key_calls(self):
        client = dataiku.DSSClient(self.local.url, api_key="k")
        made = client.create_personal_api_key("lab", "desc")
        self.assertEqual(made, {"id": "k1", "key": "made-key"})
        self.assertEqual(self.last()[:2], ("POST", "/dip/publicapi/personal-api-keys/"))
        self.assertEqual(json.loads(self.last()[3]), {"label": "lab", "description": "desc"})
        client.delete_personal_api_key("a/b c")
        self.assertEqual(self.last()[:2], ("DELETE", "/dip/publicapi/personal-api-keys/a%2Fb%20c"))
        client.get_personal_api_key("id1").get_definition()
        self.assertEqual(self.last()[:2], ("GET", "/dip/publicapi/personal-api-keys/id1"))


if __name__ == "__main__":
    unittest.main()
