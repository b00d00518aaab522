# One HTTP call to the server found by dku_location(), and the errors it can raise.
#
# Errors are R conditions of class "dku_error" (and a subclass) carrying the HTTP status, so that code
# can tryCatch() them. Their messages name the URL, the status and the server's own explanation, and
# never a credential or a secret value.

dku_condition <- function(message, class, ...) {
  structure(
    class = c(class, "dku_error", "error", "condition"),
    list(message = message, call = NULL, ...)
  )
}

dku_user_agent <- function() {
  sprintf("coffer-r-dataiku/%s (R %s)", getNamespaceVersion("dataiku"), getRversion())
}

# A credential goes into a header: refuse anything that could break out of it.
dku_check_header_value <- function(value, source) {
  if (grepl("[[:cntrl:]]", value)) {
    stop(sprintf("the credential from %s contains control characters (a stray newline?)", source),
         call. = FALSE)
  }
  value
}

dku_auth_header <- function(loc) {
  value <- dku_check_header_value(trimws(loc$auth$value), loc$source)
  if (identical(loc$auth$type, "ticket")) return(c(`X-DKU-APITicket` = value))
  # HTTP Basic with the key as user name and an empty password, as the DSS clients send it.
  # base64_enc() wraps long output over several lines: a header needs it on one.
  encoded <- gsub("[\r\n]", "", jsonlite::base64_enc(charToRaw(paste0(value, ":"))))
  c(Authorization = paste("Basic", encoded))
}

dku_body_text <- function(resp) {
  raw <- resp$content
  if (!is.raw(raw) || length(raw) == 0L) return("")
  text <- tryCatch(rawToChar(raw), error = function(e) "")
  Encoding(text) <- "UTF-8"
  text
}

dku_media_type <- function(resp) {
  type <- httr::headers(resp)[["content-type"]]
  if (is.null(type)) return("")
  tolower(trimws(strsplit(type, ";", fixed = TRUE)[[1]][1]))
}

# Parses JSON from a string only. (fromJSON() given a string that looks like a path or a URL would read
# that file or fetch that URL, which a server's answer must never cause.) The shape is the same as
# fromJSON(..., simplifyVector = FALSE): objects become named lists, arrays unnamed lists.
dku_parse_json <- function(text) jsonlite::parse_json(text, simplifyVector = FALSE)

dku_first_string <- function(...) {
  for (x in list(...)) if (dku_is_string(x)) return(x)
  NULL
}

# Builds the error for a non-200 answer from the DSS error shape {errorType, message, detailedMessage,
# code}, Coffer's own shape {error: {code, message}}, or failing both, the start of the body.
dku_http_error <- function(resp, method, url, loc) {
  status <- httr::status_code(resp)
  text <- dku_body_text(resp)
  body <- NULL
  if (grepl("json", dku_media_type(resp), fixed = TRUE) && nzchar(text)) {
    body <- tryCatch(dku_parse_json(text), error = function(e) NULL)
  }
  error_type <- NULL
  detail <- NULL
  if (is.list(body)) {
    error_type <- dku_first_string(body$errorType)
    nested <- if (is.list(body$error)) body$error else list()
    detail <- dku_first_string(body$detailedMessage, body$message, nested$message)
    if (is.null(error_type)) error_type <- dku_first_string(nested$code, body$code)
  }
  if (is.null(detail)) {
    squeezed <- trimws(gsub("[[:space:]]+", " ", text))
    detail <- if (nzchar(squeezed)) substr(squeezed, 1L, 300L) else "(empty body)"
  }
  if (status >= 300L && status < 400L) {
    location <- httr::headers(resp)[["location"]]
    detail <- sprintf(
      "the server answered with a redirect%s, which is not followed (a redirect would carry the credential elsewhere): set the address the server expects",
      if (is.null(location)) "" else sprintf(" to %s", location)
    )
  }
  reason <- httr::http_status(resp)$reason
  message <- sprintf(
    "HTTP %d%s from %s %s: %s%s (credentials from %s)",
    status, if (is.null(reason) || !nzchar(reason)) "" else paste0(" ", reason),
    method, url,
    if (is.null(error_type)) "" else paste0(error_type, ": "), detail,
    loc$source
  )
  dku_condition(message, "dku_http_error",
                status = status, errorType = error_type, detailedMessage = detail, url = url)
}

# Calls the server and returns the parsed JSON answer; `path` starts with "/" and may carry a query.
dku_api_call <- function(method, path) {
  loc <- dku_location()
  url <- paste0(loc$url, path)
  shown_url <- sub("\\?.*$", "", url)
  config <- httr::config(followlocation = 0L)
  if (isTRUE(loc$no_check_certificate)) {
    config <- c(config, httr::config(ssl_verifypeer = 0L, ssl_verifyhost = 0L))
  }
  resp <- tryCatch(
    httr::VERB(
      method, url, config,
      httr::add_headers(.headers = c(Accept = "application/json", dku_auth_header(loc))),
      httr::user_agent(dku_user_agent()),
      httr::timeout(getOption("dataiku.timeout", 120))
    ),
    error = function(e) {
      stop(dku_condition(
        sprintf("could not reach the server at %s (address from %s): %s",
                shown_url, loc$source, conditionMessage(e)),
        "dku_connection_error", url = shown_url
      ))
    }
  )
  if (httr::status_code(resp) != 200L) stop(dku_http_error(resp, method, shown_url, loc))
  text <- dku_body_text(resp)
  parsed <- tryCatch(dku_parse_json(text), error = function(e) NULL)
  if (!is.list(parsed)) {
    stop(dku_condition(
      sprintf("the server at %s answered HTTP 200 but not with a JSON object (content type \"%s\"): is %s the address of a Coffer or DSS server?",
              shown_url, dku_media_type(resp), loc$url),
      "dku_protocol_error", url = shown_url
    ))
  }
  parsed
}
