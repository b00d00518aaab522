# dkuGetAuthInfo() and dkuGetSecret() against a real server, and how failures read: the server's own
# message for an error answer, the URL for a server that cannot be reached.

args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", args, value = TRUE)[1])), "helpers.R"))
suppressPackageStartupMessages(library(dataiku))

url <- need_env("COFFER_URL")
port <- sub("^.*:([0-9]+)/*$", "\\1", url)
user_login <- need_env("COFFER_USER_LOGIN")
user_key <- need_env("COFFER_USER_KEY")
ticket <- need_env("COFFER_TICKET")
secret_value <- hex_to_utf8(need_env("COFFER_SECRET_HEX"))
other_login <- need_env("COFFER_OTHER_LOGIN")
other_key <- need_env("COFFER_OTHER_KEY")
other_value <- hex_to_utf8(need_env("COFFER_OTHER_SECRET_HEX"))
revoked_key <- need_env("COFFER_REVOKED_KEY")
revoked_message <- need_env("COFFER_REVOKED_MESSAGE")
dead_url <- need_env("COFFER_DEAD_URL")
html_url <- need_env("COFFER_HTML_URL")
redirect_url <- need_env("COFFER_REDIRECT_URL")

as_user_key <- list(DKU_DSS_URL = url, DKU_API_KEY = user_key)
as_user_ticket <- list(DKU_API_TICKET = ticket, DKU_BACKEND_HOST = "127.0.0.1", DKU_BACKEND_PORT = port)

test("dkuGetAuthInfo(with_secrets = TRUE): the identity and every secret, as list(key, value)", {
  with_dku(as_user_key, {
    info <- dkuGetAuthInfo(with_secrets = TRUE)
    assert_equal(info$authIdentifier, user_login, "authIdentifier")
    assert_equal(info$associatedDSSUser, user_login, "associatedDSSUser")
    assert_equal(info$authSource, "PERSONAL_API_KEY", "authSource")
    assert_true(is.list(info$groups), "groups is a list")
    assert_true(is.list(info$secrets) && is.null(names(info$secrets)), "secrets is an unnamed list")
    keys <- vapply(info$secrets, function(s) s$key, "")
    assert_equal(sort(keys), c("another-secret", "credential-for-my-api"), "secret names")
    mine <- info$secrets[[which(keys == "credential-for-my-api")]]
    assert_equal(sort(names(mine)), c("key", "value"), "fields of a secret")
    assert_true(same_text(mine$value, secret_value), "the value is the stored one, byte for byte")
    assert_equal(Encoding(mine$value), "UTF-8", "non-ASCII values are marked UTF-8")
  })
})

test("dkuGetAuthInfo() and with_secrets = FALSE answer without secrets", {
  with_dku(as_user_key, {
    for (info in list(dkuGetAuthInfo(), dkuGetAuthInfo(with_secrets = FALSE))) {
      assert_equal(info$authIdentifier, user_login, "authIdentifier")
      assert_true(!("secrets" %in% names(info)), "no secrets field")
    }
  })
})

test("dkuGetAuthInfo(): with_secrets must be TRUE or FALSE", {
  with_dku(as_user_key, {
    for (bad in list("TRUE", NA, c(TRUE, FALSE), 1, NULL)) {
      assert_error(dkuGetAuthInfo(with_secrets = bad), "with_secrets must be TRUE or FALSE", "bad flag")
    }
  })
})

test("dkuGetSecret(): the value with a key and with a ticket", {
  with_dku(as_user_key, assert_true(same_text(dkuGetSecret("credential-for-my-api"), secret_value), "with a key"))
  with_dku(as_user_ticket, assert_true(same_text(dkuGetSecret("credential-for-my-api"), secret_value), "with a ticket"))
  with_dku(as_user_key, assert_equal(dkuGetSecret("another-secret"), "plain-ascii-value", "the other secret"))
})

test("dkuGetSecret(): each user gets their own value for the same name", {
  with_dku(list(DKU_DSS_URL = url, DKU_API_KEY = other_key), {
    assert_true(same_text(dkuGetSecret("credential-for-my-api"), other_value), "the other user's value")
  })
})

test("dkuGetSecret(): an absent secret is an error naming it, never a value", {
  with_dku(as_user_key, {
    cond <- assert_error(dkuGetSecret("Credential-For-My-API"), "no secret named \"Credential-For-My-API\"",
                         "absent", class = "dku_secret_not_found")
    assert_equal(cond$secret, "Credential-For-My-API", "the condition carries the name")
    msg <- conditionMessage(cond)
    assert_true(grepl(user_login, msg, fixed = TRUE), "the error names the user")
    for (v in c(secret_value, "plain-ascii-value", other_value)) {
      assert_true(!grepl(v, msg, fixed = TRUE), "the error carries no secret value")
    }
  })
  with_dku(list(DKU_DSS_URL = url, DKU_API_KEY = other_key), {
    assert_error(dkuGetSecret("another-secret"), "no secret named \"another-secret\"", "another user's secret",
                 class = "dku_secret_not_found")
  })
  with_dku(as_user_key, {
    assert_error(dkuGetSecret(""), "name must be the name of a secret", "empty name")
    assert_error(dkuGetSecret(c("a", "b")), "name must be the name of a secret", "two names")
  })
})

test("a revoked API key: the server's message and the status", {
  with_dku(list(DKU_DSS_URL = url, DKU_API_KEY = revoked_key), {
    cond <- assert_error(dkuGetAuthInfo(with_secrets = TRUE), "HTTP 401", "revoked", class = "dku_http_error")
    assert_true(grepl(revoked_message, conditionMessage(cond), fixed = TRUE),
                paste0("the error carries the server's message \"", revoked_message, "\": ", conditionMessage(cond)))
    assert_equal(cond$status, 401L, "status")
    assert_equal(cond$detailedMessage, revoked_message, "detailedMessage")
    assert_true(!grepl(revoked_key, conditionMessage(cond), fixed = TRUE), "the error carries no key")
    assert_error(dkuGetSecret("credential-for-my-api"), literal(revoked_message), "dkuGetSecret too",
                 class = "dku_http_error")
  })
})

test("an unknown ticket: 401 with the server's message", {
  with_dku(list(DKU_API_TICKET = paste0(ticket, "x"), DKU_BACKEND_PORT = port), {
    cond <- assert_error(dkuGetAuthInfo(with_secrets = TRUE), "HTTP 401.*ticket", "bad ticket",
                         class = "dku_http_error")
    assert_true(grepl("DKU_API_TICKET", conditionMessage(cond), fixed = TRUE), "the error names the source")
  })
})

test("a server that cannot be reached: the error names the URL", {
  with_dku(list(DKU_DSS_URL = dead_url, DKU_API_KEY = user_key), {
    assert_error(dkuGetAuthInfo(with_secrets = TRUE),
                 paste0("could not reach the server at ", literal(dead_url), "/dip/publicapi/auth/info"),
                 "dead", class = "dku_connection_error")
  })
})

test("a URL that is not the server's root: the 404 message is surfaced", {
  with_dku(list(DKU_DSS_URL = paste0(url, "/not-here"), DKU_API_KEY = user_key), {
    cond <- assert_error(dkuGetAuthInfo(), "HTTP 404.*no such route", "404", class = "dku_http_error")
    assert_equal(cond$status, 404L, "status")
  })
})

test("a 200 answer that is not JSON is an error, not a half-parsed list", {
  with_dku(list(DKU_DSS_URL = html_url, DKU_API_KEY = user_key), {
    assert_error(dkuGetAuthInfo(), "answered HTTP 200 but not with a JSON object .*text/html",
                 "html", class = "dku_protocol_error")
  })
})

test("a redirect is not followed (it would carry the credential elsewhere)", {
  with_dku(list(DKU_DSS_URL = redirect_url, DKU_API_KEY = user_key), {
    cond <- assert_error(dkuGetAuthInfo(with_secrets = TRUE), "HTTP 30[0-9].*redirect.*not followed",
                         "redirect", class = "dku_http_error")
  })
})

finish()
