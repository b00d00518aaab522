# Where the server is and which credential to present.
#
# The order is the one the DSS client packages use, so that the same R code runs inside a Coffer job,
# on a workstation and inside DSS:
#   0. dkuSetRemoteDSS(url, apiKey) called in this R session;
#   1. DKU_API_TICKET (set by the job runner for code it runs as a user), with the server at
#      {DKU_BACKEND_PROTOCOL or http}://{DKU_BACKEND_HOST or 127.0.0.1}:{DKU_BACKEND_PORT};
#   2. DKU_DSS_URL and DKU_API_KEY (and DKU_NO_CHECK_CERTIFICATE);
#   3. ~/.dataiku/config.json, instance DKU_DEFAULT_INSTANCE or "default_instance".
# A source that is only half configured is an error rather than a reason to fall through to the next
# one: falling through could silently act as another user, or against another server.
#
# Nothing is cached: the environment and the config file are read on every call, so that a change made
# with Sys.setenv() takes effect at once.

.dku_state <- new.env(parent = emptyenv())

dku_clear_remote <- function() {
  if (exists("remote", envir = .dku_state, inherits = FALSE)) rm("remote", envir = .dku_state)
  invisible(NULL)
}

# Configuration mistakes (nothing configured, a half-configured source, a bad URL) are errors of class
# "dku_config_error".
dku_config_stop <- function(...) stop(dku_condition(paste0(...), "dku_config_error"))

dku_is_string <- function(x) is.character(x) && length(x) == 1L && !is.na(x) && nzchar(x)

dku_env <- function(name) {
  v <- Sys.getenv(name, unset = "")
  if (nzchar(v)) v else NULL
}

dku_truthy <- function(x) {
  if (is.null(x)) return(FALSE)
  if (is.logical(x)) return(isTRUE(x))
  tolower(trimws(as.character(x)[1])) %in% c("1", "true", "yes", "y", "on")
}

# Checks a base URL and removes trailing slashes (users often configure "https://host:port/").
dku_base_url <- function(url, what) {
  if (!dku_is_string(url)) dku_config_stop(sprintf("%s must be a non-empty URL", what))
  url <- trimws(url)
  if (!grepl("^https?://[^/]+", url, ignore.case = TRUE)) {
    dku_config_stop(sprintf("%s must start with http:// or https:// and name a host (got \"%s\")", what, url))
  }
  sub("/+$", "", url)
}

dku_home <- function() {
  home <- Sys.getenv("HOME", unset = "")
  if (!nzchar(home) && .Platform$OS.type == "windows") home <- Sys.getenv("USERPROFILE", unset = "")
  if (!nzchar(home)) home <- path.expand("~")
  home
}

dku_config_path <- function() file.path(dku_home(), ".dataiku", "config.json")

# Uses an explicit server and personal API key for the rest of the R session, ahead of everything else
# (a job's ticket, the environment, ~/.dataiku/config.json).
dkuSetRemoteDSS <- function(url, apiKey, noCheckCertificate = FALSE) {
  base <- dku_base_url(url, "url")
  if (!dku_is_string(apiKey)) dku_config_stop("apiKey must be a non-empty string (a personal API key)")
  if (!is.logical(noCheckCertificate) || length(noCheckCertificate) != 1L || is.na(noCheckCertificate)) {
    dku_config_stop("noCheckCertificate must be TRUE or FALSE")
  }
  assign("remote", list(
    url = base,
    auth = list(type = "key", value = apiKey),
    no_check_certificate = noCheckCertificate,
    source = "dkuSetRemoteDSS()"
  ), envir = .dku_state)
  invisible(NULL)
}

dku_location_from_ticket <- function(ticket) {
  port <- dku_env("DKU_BACKEND_PORT")
  if (is.null(port)) {
    dku_config_stop("DKU_API_TICKET is set but DKU_BACKEND_PORT is not: both are set for code that the server runs; ",
         "outside a job, unset DKU_API_TICKET and set DKU_DSS_URL and DKU_API_KEY instead")
  }
  if (!grepl("^[0-9]{1,5}$", port)) {
    dku_config_stop(sprintf("DKU_BACKEND_PORT must be a port number (got \"%s\")", port))
  }
  host <- dku_env("DKU_BACKEND_HOST")
  if (is.null(host)) host <- "127.0.0.1"
  protocol <- dku_env("DKU_BACKEND_PROTOCOL")
  if (is.null(protocol)) protocol <- "http"
  protocol <- tolower(protocol)
  if (!protocol %in% c("http", "https")) {
    dku_config_stop(sprintf("DKU_BACKEND_PROTOCOL must be http or https (got \"%s\")", protocol))
  }
  # A bare IPv6 address needs brackets in a URL.
  if (grepl(":", host, fixed = TRUE) && !startsWith(host, "[")) host <- paste0("[", host, "]")
  list(
    url = sprintf("%s://%s:%s", protocol, host, port),
    auth = list(type = "ticket", value = ticket),
    no_check_certificate = FALSE,
    source = "DKU_API_TICKET and DKU_BACKEND_HOST/DKU_BACKEND_PORT"
  )
}

dku_location_from_env <- function(url, key) {
  if (is.null(url)) {
    dku_config_stop("DKU_API_KEY is set but DKU_DSS_URL is not: set DKU_DSS_URL to the server's address too")
  }
  if (is.null(key)) {
    dku_config_stop("DKU_DSS_URL is set but DKU_API_KEY is not: set DKU_API_KEY to a personal API key too")
  }
  list(
    url = dku_base_url(url, "DKU_DSS_URL"),
    auth = list(type = "key", value = key),
    no_check_certificate = dku_truthy(dku_env("DKU_NO_CHECK_CERTIFICATE")),
    source = "DKU_DSS_URL and DKU_API_KEY"
  )
}

dku_location_from_config <- function(path) {
  config <- tryCatch(
    jsonlite::read_json(path, simplifyVector = FALSE),
    error = function(e) {
      dku_config_stop(sprintf("could not read %s as JSON: %s", path, conditionMessage(e)))
    }
  )
  instances <- if (is.list(config)) config$dss_instances else NULL
  if (!is.list(instances) || length(instances) == 0L || is.null(names(instances))) {
    dku_config_stop(sprintf("%s has no \"dss_instances\" object: expected {\"dss_instances\": {\"<name>\": {\"url\": ..., \"api_key\": ...}}, \"default_instance\": \"<name>\"}",
                 path))
  }
  name <- dku_env("DKU_DEFAULT_INSTANCE")
  chosen_by <- "DKU_DEFAULT_INSTANCE"
  if (is.null(name)) {
    name <- config$default_instance
    chosen_by <- "\"default_instance\""
  }
  if (!dku_is_string(name)) {
    dku_config_stop(sprintf("%s names no instance to use: set \"default_instance\" (or DKU_DEFAULT_INSTANCE) to one of %s",
                 path, paste0("\"", names(instances), "\"", collapse = ", ")))
  }
  instance <- instances[[name]]
  if (!is.list(instance)) {
    dku_config_stop(sprintf("%s has no instance \"%s\" (named by %s); it has %s", path, name, chosen_by,
                 paste0("\"", names(instances), "\"", collapse = ", ")))
  }
  for (field in c("url", "api_key")) {
    if (!dku_is_string(instance[[field]])) {
      dku_config_stop(sprintf("instance \"%s\" in %s has no \"%s\"", name, path, field))
    }
  }
  list(
    url = dku_base_url(instance$url, sprintf("the url of instance \"%s\" in %s", name, path)),
    auth = list(type = "key", value = instance$api_key),
    no_check_certificate = dku_truthy(instance$no_check_certificate),
    source = sprintf("%s (instance \"%s\")", path, name)
  )
}

# Resolves where to send requests, in the order described at the top of this file.
dku_location <- function() {
  if (exists("remote", envir = .dku_state, inherits = FALSE)) return(get("remote", envir = .dku_state))

  ticket <- dku_env("DKU_API_TICKET")
  if (!is.null(ticket)) return(dku_location_from_ticket(ticket))

  url <- dku_env("DKU_DSS_URL")
  key <- dku_env("DKU_API_KEY")
  if (!is.null(url) || !is.null(key)) return(dku_location_from_env(url, key))

  path <- dku_config_path()
  if (file.exists(path)) return(dku_location_from_config(path))

  dku_config_stop(paste0(
    "no server to talk to: call dkuSetRemoteDSS(url, apiKey), or set the environment variables ",
    "DKU_DSS_URL (the server's address) and DKU_API_KEY (a personal API key), or create ", path,
    " with {\"dss_instances\": {\"default\": {\"url\": ..., \"api_key\": ...}}, \"default_instance\": \"default\"}. ",
    "Code run by the server as a job gets DKU_API_TICKET, DKU_BACKEND_HOST and DKU_BACKEND_PORT instead."
  ))
}
