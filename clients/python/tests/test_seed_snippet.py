"""The documentation's snippet (tests/seed_snippet.py) runs verbatim, in a process of its own, with the
server found through DKU_DSS_URL/DKU_API_KEY and through a job's DKU_API_TICKET/DKU_BACKEND_*."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from support import PACKAGE_ROOT, TESTS_DIR, ServerTestCase

import dataiku

SNIPPET = os.path.join(TESTS_DIR, "seed_snippet.py")


class SeedSnippet(ServerTestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="coffer-py-home-")
        self.addCleanup(shutil.rmtree, self.home, True)

    def run_snippet(self, extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DKU_") and k != "PYTHONPATH"}
        env.update(HOME=self.home, PYTHONPATH=PACKAGE_ROOT, PYTHONDONTWRITEBYTECODE="1")
        env.update(extra)
        return subprocess.run(
            [sys.executable, SNIPPET],
            cwd=self.home,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    def assert_found(self, result, login, source, value):
        out = result.stdout.decode("utf-8", "replace")
        err = result.stderr.decode("utf-8", "replace")
        self.assertEqual(result.returncode, 0, "exit %d\n%s\n%s" % (result.returncode, out, err))
        self.assertIn("found the secret as %s through %s" % (login, source), out)
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
        self.assertIn("sha256 of the value: %s" % digest, out)

    def test_with_dku_dss_url_and_dku_api_key(self):
        result = self.run_snippet({"DKU_DSS_URL": self.f.url + "/", "DKU_API_KEY": self.f.user_key})
        self.assert_found(result, self.f.user_login, "PERSONAL_API_KEY", self.f.user_secret)

    def test_with_dku_dss_url_and_dku_api_key_in_the_c_locale(self):
        extra = {"DKU_DSS_URL": self.f.url, "DKU_API_KEY": self.f.user_key, "LANG": "C", "LC_ALL": "C"}
        extra["PYTHONIOENCODING"] = "ascii"  # the value itself is never printed, only its digest
        self.assert_found(self.run_snippet(extra), self.f.user_login, "PERSONAL_API_KEY", self.f.user_secret)

    def test_as_a_job_with_dku_api_ticket_and_dku_backend(self):
        extra = dict(self.f.as_user_ticket(), DKU_BACKEND_PROTOCOL="http")
        self.assert_found(self.run_snippet(extra), self.f.user_login, "TICKET", self.f.user_secret)

    def test_as_a_job_with_only_ticket_and_port(self):
        extra = {"DKU_API_TICKET": self.f.ticket, "DKU_BACKEND_PORT": self.f.port}
        self.assert_found(self.run_snippet(extra), self.f.user_login, "TICKET", self.f.user_secret)

    def test_each_user_gets_their_own_value(self):
        result = self.run_snippet({"DKU_DSS_URL": self.f.url, "DKU_API_KEY": self.f.other_key})
        self.assert_found(result, self.f.other_login, "PERSONAL_API_KEY", self.f.other_secret)

    def test_with_the_config_file(self):
        os.makedirs(os.path.join(self.home, ".dataiku"))
        with open(os.path.join(self.home, ".dataiku", "config.json"), "w") as f:
            f.write('{"dss_instances": {"default": {"url": "%s/", "api_key": "%s"}}, "default_instance": "default"}'
                    % (self.f.url, self.f.user_key))
        self.assert_found(self.run_snippet({}), self.f.user_login, "PERSONAL_API_KEY", self.f.user_secret)

    def test_a_user_without_the_secret_gets_secret_not_found(self):
        result = self.run_snippet({"DKU_DSS_URL": self.f.url, "DKU_API_KEY": self.f.editor_key})
        err = result.stderr.decode("utf-8", "replace")
        self.assertEqual(result.returncode, 1, err)
        self.assertIn("Exception: secret not found", err)

    def test_the_snippet_in_process_with_a_dssclient_made_by_hand(self):
        with open(SNIPPET, encoding="utf-8") as f:
            source = f.read()
        verbatim = source.split("# ---- verbatim from the documentation page ----\n", 1)[1]
        verbatim = verbatim.split("# ---- end of the verbatim part ----", 1)[0]
        scope = {"client": dataiku.DSSClient(self.f.url + "/", api_key=self.f.user_key)}
        exec(compile(verbatim, "seed-snippet", "exec"), scope)
        self.assertEqual(scope["secret_value"], self.f.user_secret)
        scope = {"client": dataiku.DSSClient(self.f.url, internal_ticket=self.f.ticket)}
        exec(compile(verbatim, "seed-snippet", "exec"), scope)
        self.assertEqual(scope["secret_value"], self.f.user_secret)


if __name__ == "__main__":
    unittest.main()
