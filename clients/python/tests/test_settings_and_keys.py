"""The user's own settings (secrets edited by read-modify-write, values never read back) and personal
API keys (create, list, get, update, delete)."""

import datetime
import json
import unittest

from support import ServerTestCase, unique

import dataiku


class OwnSettings(ServerTestCase):
    def setUp(self):
        self.client = dataiku.DSSClient(self.f.url + "/", api_key=self.f.editor_key)

    def test_add_remove_save_round_trip_keeps_the_other_secrets(self):
        keep, gone = unique("py-keep"), unique("py-gone")
        settings = self.client.get_own_user().get_settings()
        self.assertIs(settings.get_raw(), settings.settings)
        self.assertIsInstance(settings.get_raw()["secrets"], list)
        self.assertIsInstance(settings.credentials, dict)
        self.assertIsInstance(settings.user_properties, dict)
        self.assertEqual(settings.get_raw()["login"], self.f.editor_login)
        self.assertIn("editor-base", settings.secret_names)
        settings.add_secret(keep, "kept value one")
        settings.add_secret(gone, "removed value one")
        settings.save()
        values = self.values(self.client)
        self.assertEqual(values[keep], "kept value one")
        self.assertEqual(values[gone], "removed value one")
        self.assertEqual(values["editor-base"], self.f.editor_secret)

        settings = self.client.get_own_user().get_settings()
        raw = json.dumps(settings.get_raw(), ensure_ascii=False)
        for value in ("kept value one", "removed value one", self.f.editor_secret):
            self.assertNotIn(value, raw, "GET current-user must never return a value")
        for entry in settings.get_raw()["secrets"]:
            self.assertTrue(entry["value"].startswith("e:AES:"), entry["value"])
            self.assertIs(entry["secret"], True)
        new_value = "keep-2 caf\u00e9 \u6f22 \U0001f511 \"quoted\" \\ back"
        settings.add_secret(keep, new_value)
        self.assertEqual([s for s in settings.get_raw()["secrets"] if s["name"] == keep],
                         [{"name": keep, "value": new_value, "secret": True}], "add_secret replaces the entry")
        settings.remove_secret(gone)
        self.assertNotIn(gone, settings.secret_names)
        settings.save()
        values = self.values(self.client)
        self.assertEqual(values[keep], new_value)
        self.assertNotIn(gone, values)
        self.assertEqual(values["editor-base"], self.f.editor_secret)
        self.assertEqual(self.client.get_secret(keep), new_value)

        settings = self.client.get_own_user().get_settings()
        settings.remove_secret(keep)
        settings.remove_secret("never-existed")
        settings.save()
        values = self.values(self.client)
        self.assertNotIn(keep, values)
        self.assertEqual(values["editor-base"], self.f.editor_secret)

    def test_saving_unchanged_settings_changes_nothing(self):
        before = self.values(self.client)
        settings = self.client.get_own_user().get_settings()
        settings.save()
        self.assertEqual(self.values(self.client), before)

    def test_a_marker_of_another_user_is_refused_and_nothing_changes(self):
        other = dataiku.DSSClient(self.f.url, api_key=self.f.other_key)
        marker = [s for s in other.get_own_user().get_settings().get_raw()["secrets"]
                  if s["name"] == "credential-for-my-api"][0]["value"]
        self.assertTrue(marker.startswith("e:AES:"))
        before = self.values(self.client)
        settings = self.client.get_own_user().get_settings()
        settings.add_secret("credential-for-my-api", marker)
        settings.add_secret(unique("py-innocent"), "would-be-new")
        with self.assertRaises(dataiku.DataikuException) as ctx:
            settings.save()
        err = ctx.exception
        self.assertEqual(err.status, 400)
        self.assertRegex(str(err), r"^\S+: .+")
        self.assertEqual(str(err), "%s: %s" % (err.error_type, err.detailed_message))
        for value in (self.f.other_secret, self.f.editor_secret, "would-be-new"):
            self.assertNotIn(value, str(err))
        self.assertEqual(self.values(self.client), before)

    def test_add_secret_checks_its_arguments(self):
        settings = self.client.get_own_user().get_settings()
        with self.assertRaises(ValueError):
            settings.add_secret("", "v")
        with self.assertRaises(TypeError):
            settings.add_secret("n", 42)


class PersonalApiKeys(ServerTestCase):
    def setUp(self):
        self.client = dataiku.DSSClient(self.f.url, api_key=self.f.editor_key)

    def test_create_list_get_update_delete(self):
        made = self.client.create_personal_api_key("py-label", "py-description")
        self.assertIsInstance(made, dict)
        self.assertTrue(made["id"])
        self.assertTrue(made["key"])
        self.assertEqual(made["user"], self.f.editor_login)
        fresh = dataiku.DSSClient(self.f.url, api_key=made["key"])
        self.assertEqual(fresh.get_auth_info()["authIdentifier"], self.f.editor_login)
        self.assertEqual(fresh.get_secret("editor-base"), self.f.editor_secret)

        listed = [k for k in self.client.list_personal_api_keys() if k["id"] == made["id"]]
        self.assertEqual(len(listed), 1)
        item = listed[0]
        self.assertIsInstance(item, dict)
        self.assertEqual(item.id, made["id"])
        self.assertEqual(item.user, self.f.editor_login)
        self.assertEqual(item.label, "py-label")
        self.assertEqual(item.description, "py-description")
        self.assertIsInstance(item["createdOn"], int)
        self.assertIsInstance(item.created_on, datetime.datetime)
        self.assertAlmostEqual(item.created_on.timestamp() * 1000, item["createdOn"], delta=1)
        self.assertEqual(item.created_by, self.f.editor_login)
        self.assertNotEqual(item.key, made["key"], "a listed key never shows the key itself")
        self.assertNotIn(made["key"], json.dumps(self.client.list_personal_api_keys()))

        handle = self.client.get_personal_api_key(made["id"])
        definition = handle.get_definition()
        self.assertEqual(definition["id"], made["id"])
        self.assertEqual(definition["user"], self.f.editor_login)
        definition["label"] = "py-label-2"
        handle.set_definition(definition)
        self.assertEqual(handle.get_definition()["label"], "py-label-2")
        self.assertEqual(item.to_personal_api_key().get_definition()["label"], "py-label-2")

        self.client.delete_personal_api_key(made["id"])
        with self.assertRaises(dataiku.DataikuException) as ctx:
            fresh.get_auth_info()
        self.assertEqual(ctx.exception.status, 401)
        self.assertNotIn(made["key"], str(ctx.exception))
        self.assertNotIn(made["id"], [k["id"] for k in self.client.list_personal_api_keys()])
        with self.assertRaises(dataiku.DataikuException) as ctx:
            self.client.get_personal_api_key(made["id"]).get_definition()
        self.assertEqual(ctx.exception.status, 404)

    def test_create_as_object_and_delete_through_the_handle(self):
        key = self.client.create_personal_api_key(label=unique("py-obj"), as_type="object")
        self.assertIsInstance(key, dataiku.DSSPersonalApiKey)
        self.assertTrue(key.id)
        self.assertTrue(key.key)
        as_key = dataiku.DSSClient(self.f.url, api_key=key.key)
        self.assertEqual(as_key.get_auth_info()["authIdentifier"], self.f.editor_login)
        objects = [k for k in self.client.list_personal_api_keys(as_type="objects") if k.id == key.id]
        self.assertEqual(len(objects), 1)
        key.delete()
        with self.assertRaises(dataiku.DataikuException):
            as_key.get_auth_info()

    def test_an_unknown_as_type_is_refused(self):
        with self.assertRaises(ValueError):
            self.client.list_personal_api_keys(as_type="dicts")
        with self.assertRaises(ValueError):
            self.client.create_personal_api_key("x", as_type="objects")

    def test_another_users_key_cannot_be_read_or_deleted(self):
        made = self.client.create_personal_api_key(unique("py-mine"))
        other = dataiku.DSSClient(self.f.url, api_key=self.f.other_key)
        self.assertNotIn(made["id"], [k["id"] for k in other.list_personal_api_keys()])
        with self.assertRaises(dataiku.DataikuException) as ctx:
            other.delete_personal_api_key(made["id"])
        self.assertIn(ctx.exception.status, (403, 404))
        still = dataiku.DSSClient(self.f.url, api_key=made["key"])
        self.assertEqual(still.get_auth_info()["authIdentifier"], self.f.editor_login)
        self.client.delete_personal_api_key(made["id"])


if __name__ == "__main__":
    unittest.main()
