# The Python snippet of the DSS "User secrets" documentation page, verbatim between the markers, with
# the client made by dataiku.api_client() as in any code that the server (or a user) runs.
# test_seed_snippet.py runs this file as a separate process, with the environment a job gets or with
# DKU_DSS_URL/DKU_API_KEY, and reads what it prints.
import hashlib

import dataiku
client = dataiku.api_client()

# ---- verbatim from the documentation page ----
# client is a dataikuapi.DSSClient

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
# ---- end of the verbatim part ----

print("found the secret as %s through %s" % (auth_info["authIdentifier"], auth_info["authSource"]))
print("sha256 of the value: %s" % hashlib.sha256(secret_value.encode("utf-8")).hexdigest())
