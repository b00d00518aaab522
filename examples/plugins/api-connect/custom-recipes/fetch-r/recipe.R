# The api-connect sample recipe in R: prints what a plugin recipe receives. It reaches no network.
library(dataiku)

config <- dkuCustomRecipeConfig()
plugin_config <- dkuPluginConfig()

endpoint <- config$endpoint
page_size <- if (is.null(config$page_size)) 50 else config$page_size
fmt <- if (is.null(config$format)) "json" else config$format
cat("endpoint:", endpoint, "\n")
cat("page size:", page_size, "\n")
cat("format:", fmt, "\n")
# Plugin-level settings: the administrators' values, over plugin.json's defaults.
cat("user agent:", if (is.null(plugin_config$user_agent)) "(none)" else plugin_config$user_agent, "\n")

# The preset arrives as a list of its values, with the runner's own token under the CREDENTIAL_REQUEST
# parameter's name. Printing it is a mistake a real recipe should not make: the job log masks it to *****.
credentials <- config$credentials
cat(sprintf("GET %s/%s?page_size=%d&format=%s\n", sub("/$", "", credentials$base_url), sub("^/", "", endpoint),
            as.integer(page_size), fmt))
cat(paste0("token: ", credentials$token), "\n")
cat("token length:", nchar(credentials$token), "\n")

if (isTRUE(config$show_raw)) {
  cat("raw note:", if (is.null(config$raw_note)) "(none)" else config$raw_note, "\n")
}

cat(readLines(file.path(dkuCustomRecipeResource(), "greeting.txt")), sep = "\n")

# The runner's own secrets: the ticket of this run lets the code read them, and only them.
secrets <- dkuGetAuthInfo(with_secrets = TRUE)$secrets
cat("secrets visible:", length(secrets), "\n")
secret_name <- config$secret_name
if (!is.null(secret_name) && nzchar(secret_name)) {
  found <- any(vapply(secrets, function(s) identical(s$key, secret_name), logical(1)))
  cat(sprintf("secret %s: %s\n", secret_name, if (found) "present" else "missing"))
}
