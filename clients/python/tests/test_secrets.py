"""get_auth_info(), get_secret() and SecretNotFound, on the client and as module-level shortcuts."""

import unittest

from support import SECRET_NAME, ServerTestCase, dku_env

import dataiku


class AuthInfo(ServerTestCase):
    def test_with_secrets_gives_the_identity_and_every_secret_as_key_value(self):
        info = dataiku.DSSClient(self.f.url, api_key=self.f.user_key).get_auth_info(with_secrets=True)
        self.assertEqual(info["authIdentifier"], self.f.user_login)
        self.assertEqual(info["associatedDSSUser"], self.f.user_login)
        self.assertEqual(info["authSource"], "PERSONAL_API_KEY")
        self.assertIsInstance(info["groups"], list)
        self.assertIsInstance(info["secrets"], list)
        self.assertEqual(sorted(s["key"] for s in info["secrets"]), ["another-secret", SECRET_NAME])
        mine = [s for s in info["secrets"] if s["key"] == SECRET_NAME][0]
        self.assertEqual(sorted(mine), ["key", "value"])
        self.assertEqual(mine["value"], self.f.user_secret)

    def test_without_secrets_has_no_secrets_field(self):
        client = dataiku.DSSClient(self.f.url + "/", api_key=self.f.user_key)
        for info in (client.get_auth_info(), client.get_auth_info(with_secrets=False)):
            self.assertEqual(info["authIdentifier"], self.f.user_login)
            self.assertNotIn("secrets", info)

    def test_with_a_ticket(self):
        info = dataiku.DSSClient(self.f.url, internal_ticket=self.f.ticket).get_auth_info(with_secrets=True)
        self.assertEqual(info["authSource"], "TICKET")
        self.assertEqual(info["associatedDSSUser"], self.f.user_login)
        self.assertIn({"key": SECRET_NAME, "value": self.f.user_secret}, info["secrets"])

    def test_with_secrets_must_be_a_bool(self):
        client = dataiku.DSSClient(self.f.url, api_key=self.f.user_key)
        for bad in ("true", "false", 1, None):
            with self.assertRaises(TypeError):
                client.get_auth_info(with_secrets=bad)

    def test_module_level_get_auth_info(self):
        with dku_env(self.f.as_user_key()):
            info = dataiku.get_auth_info(with_secrets=True)
            self.assertEqual(info["authIdentifier"], self.f.user_login)
            self.assertIn({"key": SECRET_NAME, "value": self.f.user_secret}, info["secrets"])
            self.assertNotIn("secrets", dataiku.get_auth_info())
        with dku_env(self.f.as_user_ticket()):
            self.assertEqual(dataiku.get_auth_info()["authSource"], "TICKET")


class GetSecret(ServerTestCase):
    def test_the_value_with_a_key_and_with_a_ticket(self):
        self.assertEqual(dataiku.DSSClient(self.f.url, api_key=self.f.user_key).get_secret(SECRET_NAME), self.f.user_secret)
        self.assertEqual(dataiku.DSSClient(self.f.url, internal_ticket=self.f.ticket).get_secret(SECRET_NAME), self.f.user_secret)
        self.assertEqual(dataiku.DSSClient(self.f.url, api_key=self.f.user_key).get_secret("another-secret"), "plain-ascii-value")

    def test_api_client_and_module_level_get_secret(self):
        with dku_env(self.f.as_user_ticket()):
            self.assertEqual(dataiku.api_client().get_secret(SECRET_NAME), self.f.user_secret)
            self.assertEqual(dataiku.get_secret(SECRET_NAME), self.f.user_secret)
        with dku_env({"DKU_DSS_URL": self.f.url, "DKU_API_KEY": self.f.other_key}):
            self.assertEqual(dataiku.get_secret(SECRET_NAME), self.f.other_secret)

    def test_an_absent_secret_raises_secret_not_found_naming_it_and_no_value(self):
        client = dataiku.DSSClient(self.f.url, api_key=self.f.user_key)
        for name in ("Credential-For-My-API", "no-such-secret", "credential-for-my-api "):
            with self.assertRaises(dataiku.SecretNotFound) as ctx:
                client.get_secret(name)
            err = ctx.exception
            self.assertIsInstance(err, KeyError)
            self.assertIsInstance(err, LookupError)
            self.assertIsInstance(err, dataiku.DataikuError)
            self.assertEqual(err.secret_name, name)
            message = str(err)
            self.assertIn('no secret named "%s"' % name, message)
            self.assertIn(self.f.user_login, message)
            for value in (self.f.user_secret, "plain-ascii-value", self.f.other_secret, self.f.user_key):
                self.assertNotIn(value, message)
                self.assertNotIn(value, repr(err))

    def test_another_users_secret_is_not_found(self):
        client = dataiku.DSSClient(self.f.url, api_key=self.f.other_key)
        with self.assertRaises(dataiku.SecretNotFound):
            client.get_secret("another-secret")

    def test_secret_not_found_is_catchable_as_key_error(self):
        client = dataiku.DSSClient(self.f.url, api_key=self.f.user_key)
        try:
            client.get_secret("absent")
        except KeyError as e:
            self.assertEqual(e.secret_name, "absent")
        else:
            self.fail("no KeyError")

    def test_a_bad_name_is_refused_before_any_request(self):
        client = dataiku.DSSClient(self.f.url, api_key=self.f.user_key)
        for bad in ("", None, 3):
            with self.assertRaises(ValueError):
                client.get_secret(bad)


class BrowserHeaders(ServerTestCase):
    """The webapp helpers: the identity of the user whose browser sent the headers."""

    def test_info_and_ticket_from_the_callers_own_browser(self):
        client = dataiku.DSSClient(self.f.url, api_key=self.f.user_key)
        headers = {"Host": "coffer.example", "User-Agent": "Mozilla/5.0", "Cookie": self.f.user_cookie}
        info = client.get_auth_info_from_browser_headers(headers, with_secrets=True)
        self.assertEqual(info["authIdentifier"], self.f.user_login)
        self.assertIn({"key": SECRET_NAME, "value": self.f.user_secret}, info["secrets"])
        self.assertNotIn("secrets", client.get_auth_info_from_browser_headers(headers))
        answer = client.get_ticket_from_browser_headers(headers)
        ticket_client = dataiku.DSSClient(self.f.url, internal_ticket=answer["msg"])
        self.assertEqual(ticket_client.get_secret(SECRET_NAME), self.f.user_secret)

    def test_another_users_browser_is_refused(self):
        other = dataiku.DSSClient(self.f.url, api_key=self.f.other_key)
        headers = {"Cookie": self.f.user_cookie}
        with self.assertRaises(dataiku.DataikuException) as ctx:
            other.get_auth_info_from_browser_headers(headers, with_secrets=True)
        self.assertNotIn(self.f.user_secret, str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
