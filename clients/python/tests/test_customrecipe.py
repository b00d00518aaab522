"""dataiku.customrecipe: what a plugin recipe reads from the environment Coffer starts it with
(DKU_CUSTOM_RECIPE_CONFIG, DKU_CUSTOM_RECIPE_PLUGIN_CONFIG, DKU_CUSTOM_RESOURCE_FOLDER), and the errors
outside a plugin recipe or for a malformed variable. No server is needed: each test sets the variables."""

import json
import os
import shutil
import tempfile
import traceback
import unittest

from support import dku_env

import dataiku
import dataiku.customrecipe as customrecipe
from dataiku.customrecipe import (
    DataikuPluginRecipeError,
    get_input_names,
    get_input_names_for_role,
    get_output_names,
    get_output_names_for_role,
    get_plugin_config,
    get_recipe_config,
    get_recipe_resource,
)

# What a preset parameter looks like once the server put the running user's credential in it.
TOKEN = "tok-\u00e9\u6f22-\U0001F511-\"quoted\"-\\-end"
CONFIG = {
    "endpoint": "https://api.example.com/v1",
    "label": "caf\u00e9 \u6771\u4eac \U0001F600",
    "retries": 3,
    "ratio": 0.25,
    "verbose": True,
    "since": None,
    "columns": ["a", "b\u00fc"],
    "api": {
        "url": "https://api.example.com",
        "token": TOKEN,
        "basic": {"user": "u\u00e9", "password": "p\u00e0ss"},
    },
}
PLUGIN_CONFIG = {"default_timeout": 30, "region": "eu-\u00f1"}
ALL_FUNCTIONS = [
    (get_recipe_config, ()),
    (get_plugin_config, ()),
    (get_recipe_resource, ()),
    (get_input_names, ()),
    (get_output_names, ()),
    (get_input_names_for_role, ("input_A_role",)),
    (get_output_names_for_role, ("main_output",)),
]


def as_text(value):
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def plugin_env(config=CONFIG, plugin_config=PLUGIN_CONFIG, resource="/nonexistent/plugin/resource"):
    """The variables of a plugin recipe run: JSON as the server writes it (non-ASCII unescaped)."""
    return {
        "DKU_CUSTOM_RECIPE_CONFIG": as_text(config),
        "DKU_CUSTOM_RECIPE_PLUGIN_CONFIG": as_text(plugin_config),
        "DKU_CUSTOM_RESOURCE_FOLDER": resource,
        "DKU_CUSTOM_RECIPE_ID": "api-connect/fetch",
    }


class InsideAPluginRecipe(unittest.TestCase):
    def test_recipe_config_is_the_json_object_with_its_types_unicode_and_nested_preset(self):
        with dku_env(plugin_env()):
            config = get_recipe_config()
        self.assertEqual(config, CONFIG)
        self.assertEqual(config["api"]["token"], TOKEN)
        self.assertEqual(config["api"]["basic"]["password"], "p\u00e0ss")
        self.assertEqual(config["label"], "caf\u00e9 \u6771\u4eac \U0001F600")
        self.assertIs(type(config["retries"]), int)
        self.assertIs(type(config["ratio"]), float)
        self.assertIs(config["verbose"], True)
        self.assertIsNone(config["since"])

    def test_ascii_escaped_json_reads_the_same(self):
        with dku_env(plugin_env(config=json.dumps(CONFIG, ensure_ascii=True))):
            self.assertEqual(get_recipe_config(), CONFIG)

    def test_each_call_parses_afresh_nothing_is_cached(self):
        with dku_env(plugin_env()):
            first = get_recipe_config()
            first["api"]["token"] = "changed"
            second = get_recipe_config()
            self.assertEqual(second["api"]["token"], TOKEN)
            self.assertIsNot(first, second)
            os.environ["DKU_CUSTOM_RECIPE_CONFIG"] = json.dumps({"endpoint": "other"})
            self.assertEqual(get_recipe_config(), {"endpoint": "other"})
        # No module-level state keeps a value once the run's variables are gone.
        for name, value in vars(customrecipe).items():
            self.assertNotIn(TOKEN, repr(value), name)

    def test_plugin_config_with_values_and_empty(self):
        with dku_env(plugin_env()):
            self.assertEqual(get_plugin_config(), PLUGIN_CONFIG)
        with dku_env(plugin_env(plugin_config={})):
            self.assertEqual(get_plugin_config(), {})

    def test_resource_folder_is_the_path_whether_or_not_it_exists(self):
        folder = tempfile.mkdtemp(prefix="coffer-plugin-resource-")
        try:
            with open(os.path.join(folder, "schema.json"), "w", encoding="utf-8") as f:
                f.write("{}")
            with dku_env(plugin_env(resource=folder)):
                self.assertEqual(get_recipe_resource(), folder)
                self.assertEqual(os.listdir(get_recipe_resource()), ["schema.json"])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        with dku_env(plugin_env(resource="/nonexistent/plugin/resource")):
            self.assertEqual(get_recipe_resource(), "/nonexistent/plugin/resource")

    def test_input_and_output_names_are_empty_coffer_has_no_datasets(self):
        with dku_env(plugin_env()):
            self.assertEqual(get_input_names(), [])
            self.assertEqual(get_output_names(full=False), [])
            self.assertEqual(get_input_names_for_role("input_A_role"), [])
            self.assertEqual(get_output_names_for_role("main_output", full=False), [])

    def test_star_import_gives_the_dss_names(self):
        namespace = {}
        exec("from dataiku.customrecipe import *", namespace)
        for name in ("get_recipe_config", "get_plugin_config", "get_recipe_resource", "get_input_names",
                     "get_output_names", "get_input_names_for_role", "get_output_names_for_role"):
            self.assertTrue(callable(namespace.get(name)), name)


class OutsideAPluginRecipe(unittest.TestCase):
    def test_every_function_raises_a_clear_error_when_the_variables_are_absent(self):
        with dku_env({}):
            for function, args in ALL_FUNCTIONS:
                with self.assertRaises(DataikuPluginRecipeError) as ctx:
                    function(*args)
                message = str(ctx.exception)
                self.assertIn("%s()" % function.__name__, message)
                self.assertIn("only works inside a plugin recipe run by Coffer", message)
                self.assertRegex(message, r"DKU_CUSTOM_[A-Z_]+ is not set")
                self.assertIsInstance(ctx.exception, dataiku.DataikuError)
                self.assertTrue(ctx.exception.variable.startswith("DKU_CUSTOM_"))

    def test_each_function_names_the_variable_it_reads(self):
        expected = {
            get_recipe_config: "DKU_CUSTOM_RECIPE_CONFIG",
            get_plugin_config: "DKU_CUSTOM_RECIPE_PLUGIN_CONFIG",
            get_recipe_resource: "DKU_CUSTOM_RESOURCE_FOLDER",
        }
        for function, variable in expected.items():
            env = plugin_env()
            del env[variable]
            with dku_env(env):
                with self.assertRaises(DataikuPluginRecipeError) as ctx:
                    function()
            self.assertIn(variable, str(ctx.exception))
            self.assertEqual(ctx.exception.variable, variable)

    def test_an_empty_variable_counts_as_absent(self):
        with dku_env(plugin_env(config="")):
            with self.assertRaises(DataikuPluginRecipeError) as ctx:
                get_recipe_config()
        self.assertIn("DKU_CUSTOM_RECIPE_CONFIG is not set or empty", str(ctx.exception))


class MalformedVariables(unittest.TestCase):
    # Malformed, and holding a credential that no message, traceback or chained exception may show.
    LEAKY = '{"api": {"token": "%s-LEAK-CANARY", "user": ' % TOKEN

    def assert_error_hides_content(self, function, variable, canaries):
        with self.assertRaises(DataikuPluginRecipeError) as ctx:
            function()
        err = ctx.exception
        message = str(err)
        self.assertIn(variable, message)
        self.assertIn("its content is not shown", message)
        self.assertEqual(err.variable, variable)
        shown = "".join(traceback.format_exception(type(err), err, err.__traceback__)) + repr(err.args)
        for canary in canaries:
            self.assertNotIn(canary, shown)
        # The json module's exception holds the whole text in .doc: it must not ride along.
        self.assertIsNone(err.__context__)
        self.assertIsNone(err.__cause__)
        return message

    def test_malformed_recipe_config_names_the_variable_and_never_echoes_it(self):
        with dku_env(plugin_env(config=self.LEAKY)):
            message = self.assert_error_hides_content(
                get_recipe_config, "DKU_CUSTOM_RECIPE_CONFIG", [TOKEN, "LEAK-CANARY", '"api"']
            )
        self.assertIn("not valid JSON", message)
        self.assertRegex(message, r"line 1, column \d+")

    def test_malformed_plugin_config_names_the_variable_and_never_echoes_it(self):
        with dku_env(plugin_env(plugin_config="password=hunter2-LEAK-CANARY")):
            self.assert_error_hides_content(
                get_plugin_config, "DKU_CUSTOM_RECIPE_PLUGIN_CONFIG", ["hunter2", "LEAK-CANARY"]
            )

    def test_json_that_is_not_an_object_is_refused_without_echoing_it(self):
        for text, kind in (('["tok-LEAK-CANARY"]', "an array"), ('"tok-LEAK-CANARY"', "a string"),
                           ("12345678", "a number"), ("true", "a boolean"), ("null", "null")):
            with dku_env(plugin_env(config=text)):
                message = self.assert_error_hides_content(
                    get_recipe_config, "DKU_CUSTOM_RECIPE_CONFIG", ["LEAK-CANARY", "12345678"]
                )
            self.assertIn("not an object (it is %s)" % kind, message)


if __name__ == "__main__":
    unittest.main()
