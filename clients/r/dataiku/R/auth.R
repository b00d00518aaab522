# Who this code runs as, and that user's secrets.

# Returns the answer of GET /dip/publicapi/auth/info: a named list with authIdentifier, authSource,
# groups, associatedDSSUser, ... and, with with_secrets = TRUE, `secrets`, an unnamed list of
# list(key = <name>, value = <plaintext>), so that auth_info$secrets[[i]]$key and $value work as in the
# DSS documentation.
dkuGetAuthInfo <- function(with_secrets = FALSE) {
  if (!is.logical(with_secrets) || length(with_secrets) != 1L || is.na(with_secrets)) {
    stop("with_secrets must be TRUE or FALSE", call. = FALSE)
  }
  dku_api_call("GET", paste0("/dip/publicapi/auth/info?withSecrets=", if (with_secrets) "TRUE" else "FALSE"))
}

# Returns the value of the caller's secret called `name`; an error of class "dku_secret_not_found" when
# there is none. The message names the secret, never a value.
dkuGetSecret <- function(name) {
  if (!dku_is_string(name)) stop("name must be the name of a secret (a non-empty string)", call. = FALSE)
  info <- dkuGetAuthInfo(with_secrets = TRUE)
  secrets <- info$secrets
  if (!is.list(secrets)) {
    stop(dku_condition(
      sprintf("the server's answer for %s carries no list of secrets", dku_first_string(info$authIdentifier, "this caller")),
      "dku_protocol_error"
    ))
  }
  for (s in secrets) {
    if (is.list(s) && dku_is_string(s$key) && s$key == name) return(s$value)
  }
  known <- vapply(secrets, function(s) if (is.list(s) && dku_is_string(s$key)) s$key else "", "")
  known <- known[nzchar(known)]
  stop(dku_condition(
    sprintf(
      "no secret named \"%s\" for user %s: add it to your secrets in Coffer (secret names are case-sensitive; %s)",
      name,
      dku_first_string(info$associatedDSSUser, info$authIdentifier, "(unknown)"),
      if (length(known) == 0L) "this user has no secrets"
      else paste0("this user's secrets are ", paste0("\"", known, "\"", collapse = ", "))
    ),
    "dku_secret_not_found", secret = name
  ))
}
