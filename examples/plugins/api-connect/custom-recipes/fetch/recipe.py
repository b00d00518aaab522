# The api-connect sample recipe: prints what a plugin recipe receives. It reaches no network.
import os

import dataiku
from dataiku.customrecipe import get_plugin_config, get_recipe_config, get_recipe_resource

from api_connect import request_line

config = get_recipe_config()
plugin_config = get_plugin_config()

endpoint = config["endpoint"]
page_size = config.get("page_size", 50)
fmt = config.get("format", "json")
print("endpoint:", endpoint)
print("page size:", page_size)
print("format:", fmt)
# Plugin-level settings: the administrators' values, over plugin.json's defaults.
print("user agent:", plugin_config.get("user_agent", "(none)"))

# The preset arrives as a dict of its values, with the runner's own token under the CREDENTIAL_REQUEST
# parameter's name. Printing it is a mistake a real recipe should not make: the job log masks it to *****.
credentials = config["credentials"]
print(request_line(credentials["base_url"], endpoint, page_size, fmt))
print("token: " + config["credentials"]["token"])
print("token length:", len(credentials["token"]))

if config.get("show_raw"):
    print("raw note:", config.get("raw_note") or "(none)")

with open(os.path.join(get_recipe_resource(), "greeting.txt")) as greeting:
    print(greeting.read().strip())

# The runner's own secrets: the ticket of this run lets the code read them, and only them.
secrets = dataiku.api_client().get_auth_info(with_secrets=True)["secrets"]
print("secrets visible:", len(secrets))
secret_name = config.get("secret_name")
if secret_name:
    found = any(secret.get("key") == secret_name for secret in secrets)
    print("secret %s: %s" % (secret_name, "present" if found else "missing"))
