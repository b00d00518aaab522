"""How dataiku.api_client() finds the server and the credential: set_remote_dss(), then DKU_API_TICKET,
then DKU_DSS_URL + DKU_API_KEY, then ~/.dataiku/config.json. Each source belongs to a different user, so
the identity the server answers with shows which source was used."""

import os
import unittest

from support import ServerTestCase, TempHomes, dku_env

import dataiku


class Discovery(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        f = cls.f
        cls.homes = TempHomes()
        # Every source at once: the ticket is the user's, the environment's key the other user's, the
        # config file's default instance a third user's, its "alt" instance the user's own key.
        cls.all_sources = {
            "DKU_API_TICKET": f.ticket,
            "DKU_BACKEND_HOST": "127.0.0.1",
            "DKU_BACKEND_PORT": f.port,
            "DKU_DSS_URL": f.url,
            "DKU_API_KEY": f.other_key,
        }
        cls.config_home = cls.homes.with_config(
            {
                "dss_instances": {
                    "main": {"url": f.url + "/", "api_key": f.config_key},
                    "alt": {"url": f.url, "api_key": f.user_key, "no_check_certificate": False},
                },
                "default_instance": "main",
            }
        )

    @classmethod
    def tearDownClass(cls):
        cls.homes.cleanup()

    def test_0_set_remote_dss_comes_before_ticket_environment_and_config(self):
        with dku_env(self.all_sources, home=self.config_home):
            dataiku.set_remote_dss(self.f.url, self.f.explicit_key)
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.explicit_login)

    def test_0_set_remote_dss_lasts_replaces_and_validates(self):
        with dku_env():
            dataiku.set_remote_dss(self.f.url + "/", self.f.explicit_key)
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.explicit_login)
            os.environ.update({"DKU_DSS_URL": self.f.url, "DKU_API_KEY": self.f.other_key})
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.explicit_login)
            dataiku.set_remote_dss(self.f.url, self.f.user_key, no_check_certificate=True)
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.user_login)
            for args, message in [
                (("", self.f.user_key), "url must be a non-empty URL"),
                (("coffer.example.com", self.f.user_key), "must start with http:// or https://"),
                ((self.f.url, ""), "api_key must be a non-empty string"),
                ((self.f.url, None), "api_key must be a non-empty string"),
            ]:
                with self.assertRaisesRegex(dataiku.DataikuConfigError, message):
                    dataiku.set_remote_dss(*args)
            with self.assertRaisesRegex(dataiku.DataikuConfigError, "True or False"):
                dataiku.set_remote_dss(self.f.url, self.f.user_key, no_check_certificate="no")
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.user_login, "a refused call changes nothing")
            dataiku.clear_remote_dss()
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.other_login)

    def test_0_set_remote_dss_with_a_bad_key_fails_and_does_not_fall_back(self):
        with dku_env(self.all_sources, home=self.config_home):
            dataiku.set_remote_dss(self.f.url, self.f.explicit_key + "x")
            with self.assertRaises(dataiku.DataikuException) as ctx:
                self.who()
            self.assertEqual(ctx.exception.status, 401)

    def test_1_ticket_comes_before_environment_and_config(self):
        with dku_env(self.all_sources, home=self.config_home):
            self.assertEqual(self.who(), "%s TICKET" % self.f.user_login)
            client = dataiku.api_client()
            self.assertEqual(client.host, self.f.url)
            self.assertIsNone(client.api_key)
            self.assertEqual(client.internal_ticket, self.f.ticket)

    def test_1_ticket_mode_defaults_host_127_0_0_1_and_protocol_http(self):
        with dku_env({"DKU_API_TICKET": self.f.ticket, "DKU_BACKEND_PORT": self.f.port}):
            self.assertEqual(dataiku.api_client().host, "http://127.0.0.1:%s" % self.f.port)
            self.assertEqual(self.who(), "%s TICKET" % self.f.user_login)
        extra = {"DKU_BACKEND_PROTOCOL": "HTTP", "DKU_BACKEND_HOST": "127.0.0.1"}
        with dku_env(dict(extra, DKU_API_TICKET=self.f.ticket, DKU_BACKEND_PORT=self.f.port)):
            self.assertEqual(self.who(), "%s TICKET" % self.f.user_login)
        with dku_env({"DKU_API_TICKET": "t", "DKU_BACKEND_PORT": "8443", "DKU_BACKEND_PROTOCOL": "https",
                      "DKU_BACKEND_HOST": "::1"}):
            self.assertEqual(dataiku.api_client().host, "https://[::1]:8443")

    def test_1_ticket_without_port_is_an_error_not_a_fall_through(self):
        env = {"DKU_API_TICKET": self.f.ticket, "DKU_DSS_URL": self.f.url, "DKU_API_KEY": self.f.other_key}
        with dku_env(env):
            with self.assertRaises(dataiku.DataikuConfigError) as ctx:
                dataiku.api_client()
            self.assertIn("DKU_API_TICKET is set but DKU_BACKEND_PORT is not", str(ctx.exception))
            self.assertNotIn(self.f.ticket, str(ctx.exception))
            with self.assertRaises(dataiku.DataikuConfigError):
                dataiku.get_auth_info(with_secrets=True)

    def test_1_bad_protocol_or_port_is_refused(self):
        with dku_env({"DKU_API_TICKET": self.f.ticket, "DKU_BACKEND_PORT": self.f.port, "DKU_BACKEND_PROTOCOL": "ftp"}):
            with self.assertRaisesRegex(dataiku.DataikuConfigError, "DKU_BACKEND_PROTOCOL must be http or https"):
                dataiku.api_client()
        with dku_env({"DKU_API_TICKET": self.f.ticket, "DKU_BACKEND_PORT": "eighty"}):
            with self.assertRaisesRegex(dataiku.DataikuConfigError, "DKU_BACKEND_PORT must be a port number"):
                dataiku.api_client()

    def test_2_environment_comes_before_config(self):
        env = {"DKU_DSS_URL": self.f.url, "DKU_API_KEY": self.f.other_key}
        with dku_env(env, home=self.config_home):
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.other_login)
            client = dataiku.api_client()
            self.assertEqual(client.api_key, self.f.other_key)
            self.assertIsNone(client.internal_ticket)

    def test_2_url_may_end_with_slashes_and_no_check_certificate_is_accepted(self):
        env = {"DKU_DSS_URL": self.f.url + "//", "DKU_API_KEY": self.f.other_key, "DKU_NO_CHECK_CERTIFICATE": "true"}
        with dku_env(env):
            self.assertEqual(dataiku.api_client().host, self.f.url)
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.other_login)

    def test_2_half_set_environment_is_an_error_naming_the_missing_variable(self):
        with dku_env({"DKU_DSS_URL": self.f.url}, home=self.config_home):
            with self.assertRaisesRegex(dataiku.DataikuConfigError, "DKU_DSS_URL is set but DKU_API_KEY is not"):
                dataiku.api_client()
        with dku_env({"DKU_API_KEY": self.f.other_key}, home=self.config_home):
            with self.assertRaises(dataiku.DataikuConfigError) as ctx:
                dataiku.api_client()
            self.assertIn("DKU_API_KEY is set but DKU_DSS_URL is not", str(ctx.exception))
            self.assertNotIn(self.f.other_key, str(ctx.exception))

    def test_2_url_without_scheme_is_refused(self):
        with dku_env({"DKU_DSS_URL": self.f.url.replace("http://", ""), "DKU_API_KEY": self.f.other_key}):
            with self.assertRaisesRegex(dataiku.DataikuConfigError, "DKU_DSS_URL must start with http:// or https://"):
                dataiku.api_client()

    def test_3_config_json_default_instance(self):
        with dku_env({}, home=self.config_home):
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.config_login)
            self.assertEqual(dataiku.api_client().host, self.f.url)

    def test_3_config_json_dku_default_instance_overrides(self):
        with dku_env({"DKU_DEFAULT_INSTANCE": "alt"}, home=self.config_home):
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.user_login)

    def test_3_config_json_mistakes_are_clear_errors(self):
        url, key = self.f.url, self.f.user_key
        cases = [
            ({"DKU_DEFAULT_INSTANCE": "nope"}, self.config_home, r'has no instance "nope".*"main", "alt"'),
            ({}, self.homes.with_config({"dss_instances": {"main": {"url": url}}, "default_instance": "main"}),
             r'instance "main" in .*config\.json has no "api_key"'),
            ({}, self.homes.with_config({"dss_instances": {"a": {"url": url, "api_key": key}}}),
             r'names no instance to use.*"a"'),
            ({}, self.homes.with_config('{ "dss_instances": '), r"could not read .*config\.json as JSON"),
            ({}, self.homes.with_config("{}"), r'has no "dss_instances" object'),
            ({}, self.homes.with_config({"dss_instances": {"m": {"url": "example.com", "api_key": key}},
                                         "default_instance": "m"}), r"must start with http:// or https://"),
        ]
        for env, home, pattern in cases:
            with dku_env(env, home=home):
                with self.assertRaisesRegex(dataiku.DataikuConfigError, pattern):
                    dataiku.api_client()

    def test_3_config_json_no_check_certificate_is_read(self):
        home = self.homes.with_config(
            {"dss_instances": {"d": {"url": self.f.url, "api_key": self.f.config_key, "no_check_certificate": True}},
             "default_instance": "d"}
        )
        with dku_env({}, home=home):
            self.assertTrue(dataiku.locate().no_check_certificate)
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.config_login)

    def test_nothing_configured_says_what_to_set(self):
        with dku_env():
            with self.assertRaises(dataiku.DataikuConfigError) as ctx:
                dataiku.api_client()
            message = str(ctx.exception)
            self.assertIn("no server to talk to", message)
            for needed in ("set_remote_dss", "DKU_DSS_URL", "DKU_API_KEY", ".dataiku/config.json", "DKU_API_TICKET"):
                self.assertIn(needed, message)
            with self.assertRaises(dataiku.DataikuError):
                dataiku.get_secret("credential-for-my-api")

    def test_the_environment_is_read_on_every_call(self):
        with dku_env({"DKU_DSS_URL": self.f.url, "DKU_API_KEY": self.f.other_key}):
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.other_login)
            os.environ["DKU_API_KEY"] = self.f.user_key
            self.assertEqual(self.who(), "%s PERSONAL_API_KEY" % self.f.user_login)


if __name__ == "__main__":
    unittest.main()
