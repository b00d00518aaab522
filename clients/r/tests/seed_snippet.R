# The R snippet of the DSS "User secrets" page, verbatim, between the two markers below. It must run
# unchanged against Coffer, whichever way the server is found (test/r-client.test.ts runs this file
# with DKU_DSS_URL/DKU_API_KEY, then with DKU_API_TICKET/DKU_BACKEND_HOST/DKU_BACKEND_PORT).
# COFFER_SECRET_HEX holds the expected value of "credential-for-my-api", as hex-encoded UTF-8.

# ---- seed snippet, verbatim ----
library(dataiku)

auth_info = dkuGetAuthInfo(with_secrets = TRUE)

# Find the correct secret
secret <- auth_info$secrets[lapply(auth_info$secrets, function(d) { d$key == "credential-for-my-api"}) == TRUE]
secret_value <- secret[[1]]$value

# Use secret_value
# ---- end of seed snippet ----

hex <- Sys.getenv("COFFER_SECRET_HEX")
bytes <- as.raw(strtoi(substring(hex, seq(1L, nchar(hex), 2L), seq(2L, nchar(hex), 2L)), 16L))
stopifnot(
  nchar(hex) > 0L,
  length(secret) == 1L,
  is.character(secret_value), length(secret_value) == 1L,
  identical(charToRaw(enc2utf8(secret_value)), bytes)
)
cat(sprintf("seed snippet: OK (found the secret as %s through %s)\n",
            auth_info$authIdentifier, auth_info$authSource))
