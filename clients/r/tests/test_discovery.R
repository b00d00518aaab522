# How the package finds the server and the credential: dkuSetRemoteDSS(), then DKU_API_TICKET, then
# DKU_DSS_URL + DKU_API_KEY, then ~/.dataiku/config.json. Each source here belongs to a different user,
# so the identity the server answers with shows which source was used.

args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", args, value = TRUE)[1])), "helpers.R"))
suppressPackageStartupMessages(library(dataiku))

url <- need_env("COFFER_URL")
port <- sub("^.*:([0-9]+)/*$", "\\1", url)
user_login <- need_env("COFFER_USER_LOGIN")
user_key <- need_env("COFFER_USER_KEY")
ticket <- need_env("COFFER_TICKET")
other_login <- need_env("COFFER_OTHER_LOGIN")
other_key <- need_env("COFFER_OTHER_KEY")
config_login <- need_env("COFFER_CONFIG_LOGIN")
config_key <- need_env("COFFER_CONFIG_KEY")
explicit_login <- need_env("COFFER_EXPLICIT_LOGIN")
explicit_key <- need_env("COFFER_EXPLICIT_KEY")

who <- function() {
  info <- dkuGetAuthInfo()
  paste(info$authIdentifier, info$authSource)
}

# Every source at once: the ticket is the user's, the environment's key the other user's, the config
# file's default instance a third user's, its "alt" instance the user's own key.
all_sources <- list(
  DKU_API_TICKET = ticket, DKU_BACKEND_HOST = "127.0.0.1", DKU_BACKEND_PORT = port,
  DKU_DSS_URL = url, DKU_API_KEY = other_key
)
config_home <- home_with_config(list(
  dss_instances = list(
    main = list(url = paste0(url, "/"), api_key = config_key),
    alt = list(url = url, api_key = user_key, no_check_certificate = FALSE)
  ),
  default_instance = "main"
))

test("0. dkuSetRemoteDSS() comes before a ticket, the environment and the config file", {
  with_dku(all_sources, home = config_home, {
    dkuSetRemoteDSS(url, explicit_key)
    assert_equal(who(), paste(explicit_login, "PERSONAL_API_KEY"), "identity")
  })
})

test("1. a ticket (DKU_API_TICKET) comes before DKU_DSS_URL/DKU_API_KEY and the config file", {
  with_dku(all_sources, home = config_home, {
    assert_equal(who(), paste(user_login, "TICKET"), "identity")
  })
})

test("1. ticket mode: DKU_BACKEND_HOST defaults to 127.0.0.1, DKU_BACKEND_PROTOCOL to http", {
  with_dku(list(DKU_API_TICKET = ticket, DKU_BACKEND_PORT = port), {
    assert_equal(who(), paste(user_login, "TICKET"), "identity")
  })
  with_dku(list(DKU_API_TICKET = ticket, DKU_BACKEND_PORT = port, DKU_BACKEND_PROTOCOL = "HTTP",
                DKU_BACKEND_HOST = "127.0.0.1"), {
    assert_equal(who(), paste(user_login, "TICKET"), "identity")
  })
})

test("1. ticket mode without DKU_BACKEND_PORT is an error, not a fall-through to DKU_DSS_URL", {
  with_dku(list(DKU_API_TICKET = ticket, DKU_DSS_URL = url, DKU_API_KEY = other_key), {
    assert_error(dkuGetAuthInfo(), "DKU_API_TICKET is set but DKU_BACKEND_PORT is not", "error",
                 class = "dku_config_error")
  })
})

test("1. a bad DKU_BACKEND_PROTOCOL or DKU_BACKEND_PORT is refused", {
  with_dku(list(DKU_API_TICKET = ticket, DKU_BACKEND_PORT = port, DKU_BACKEND_PROTOCOL = "ftp"), {
    assert_error(dkuGetAuthInfo(), "DKU_BACKEND_PROTOCOL must be http or https", "protocol")
  })
  with_dku(list(DKU_API_TICKET = ticket, DKU_BACKEND_PORT = "eighty"), {
    assert_error(dkuGetAuthInfo(), "DKU_BACKEND_PORT must be a port number", "port")
  })
})

test("2. DKU_DSS_URL + DKU_API_KEY come before the config file", {
  with_dku(all_sources[c("DKU_DSS_URL", "DKU_API_KEY")], home = config_home, {
    assert_equal(who(), paste(other_login, "PERSONAL_API_KEY"), "identity")
  })
})

test("2. DKU_DSS_URL may end with a slash; DKU_NO_CHECK_CERTIFICATE is accepted over http", {
  with_dku(list(DKU_DSS_URL = paste0(url, "//"), DKU_API_KEY = other_key, DKU_NO_CHECK_CERTIFICATE = "true"), {
    assert_equal(who(), paste(other_login, "PERSONAL_API_KEY"), "identity")
  })
})

test("2. only one of DKU_DSS_URL and DKU_API_KEY is an error naming the missing one", {
  with_dku(list(DKU_DSS_URL = url), home = config_home, {
    assert_error(dkuGetAuthInfo(), "DKU_DSS_URL is set but DKU_API_KEY is not", "url only")
  })
  with_dku(list(DKU_API_KEY = other_key), home = config_home, {
    assert_error(dkuGetAuthInfo(), "DKU_API_KEY is set but DKU_DSS_URL is not", "key only")
  })
})

test("2. a DKU_DSS_URL without http:// or https:// is refused", {
  with_dku(list(DKU_DSS_URL = sub("^http://", "", url), DKU_API_KEY = other_key), {
    assert_error(dkuGetAuthInfo(), "DKU_DSS_URL must start with http:// or https://", "error")
  })
})

test("3. ~/.dataiku/config.json: default_instance (its url may end with a slash)", {
  with_dku(list(), home = config_home, {
    assert_equal(who(), paste(config_login, "PERSONAL_API_KEY"), "identity")
  })
})

test("3. ~/.dataiku/config.json: DKU_DEFAULT_INSTANCE overrides default_instance", {
  with_dku(list(DKU_DEFAULT_INSTANCE = "alt"), home = config_home, {
    assert_equal(who(), paste(user_login, "PERSONAL_API_KEY"), "identity")
  })
})

test("3. ~/.dataiku/config.json: an unknown instance, a missing field, bad JSON are clear errors", {
  with_dku(list(DKU_DEFAULT_INSTANCE = "nope"), home = config_home, {
    assert_error(dkuGetAuthInfo(), "has no instance \"nope\".*\"main\", \"alt\"", "unknown instance")
  })
  home <- home_with_config(list(dss_instances = list(main = list(url = url)), default_instance = "main"))
  with_dku(list(), home = home, {
    assert_error(dkuGetAuthInfo(), "instance \"main\" in .*config.json has no \"api_key\"", "no key")
  })
  home <- home_with_config(list(dss_instances = list(a = list(url = url, api_key = user_key))))
  with_dku(list(), home = home, {
    assert_error(dkuGetAuthInfo(), "names no instance to use.*\"a\"", "no default")
  })
  home <- home_with_config("{ \"dss_instances\": ")
  with_dku(list(), home = home, {
    assert_error(dkuGetAuthInfo(), "could not read .*config.json as JSON", "bad JSON")
  })
  home <- home_with_config("{}")
  with_dku(list(), home = home, {
    assert_error(dkuGetAuthInfo(), "has no \"dss_instances\" object", "empty")
  })
})

test("nothing configured: the error says what to set", {
  with_dku(list(), {
    cond <- assert_error(dkuGetAuthInfo(with_secrets = TRUE), "no server to talk to", "error",
                         class = "dku_config_error")
    for (needed in c("dkuSetRemoteDSS", "DKU_DSS_URL", "DKU_API_KEY", ".dataiku/config.json", "DKU_API_TICKET")) {
      assert_true(grepl(needed, conditionMessage(cond), fixed = TRUE), paste("the error mentions", needed))
    }
  })
})

test("dkuSetRemoteDSS(): a trailing slash is fine; it lasts for the session; bad arguments are refused", {
  with_dku(list(), {
    dkuSetRemoteDSS(paste0(url, "/"), explicit_key)
    assert_equal(who(), paste(explicit_login, "PERSONAL_API_KEY"), "first call")
    Sys.setenv(DKU_DSS_URL = url, DKU_API_KEY = other_key)
    assert_equal(who(), paste(explicit_login, "PERSONAL_API_KEY"), "after setting the environment")
    dkuSetRemoteDSS(url, user_key)
    assert_equal(who(), paste(user_login, "PERSONAL_API_KEY"), "a second call replaces the first")
    assert_error(dkuSetRemoteDSS("", user_key), "url must be a non-empty URL", "empty url")
    assert_error(dkuSetRemoteDSS("coffer.example.com", user_key), "must start with http", "no scheme")
    assert_error(dkuSetRemoteDSS(url, ""), "apiKey must be a non-empty string", "empty key")
    assert_error(dkuSetRemoteDSS(url, NA_character_), "apiKey must be a non-empty string", "NA key")
    assert_error(dkuSetRemoteDSS(url, user_key, noCheckCertificate = "no"), "TRUE or FALSE", "flag")
    assert_equal(who(), paste(user_login, "PERSONAL_API_KEY"), "a refused call changes nothing")
  })
})

test("dkuSetRemoteDSS() with a bad key fails; it does not fall back to other sources", {
  with_dku(all_sources, home = config_home, {
    dkuSetRemoteDSS(url, paste0(explicit_key, "x"))
    cond <- assert_error(dkuGetAuthInfo(), "HTTP 401", "error", class = "dku_http_error")
    assert_equal(cond$status, 401L, "status")
    assert_true(grepl("dkuSetRemoteDSS()", conditionMessage(cond), fixed = TRUE), "the error names the source")
  })
})

finish()
