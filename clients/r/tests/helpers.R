# A tiny test harness for the R client's contract tests: plain Rscript, no testthat, so that the tests
# need nothing beyond the package's own dependencies (httr, jsonlite).
#
# Each script calls test("name", { ... }) for each case and finish() at the end, which prints a
# summary and exits non-zero if any case failed. The vitest suite test/r-client.test.ts sets the
# environment variables below; see clients/r/README.md to run the scripts by hand.

.results <- new.env()
.results$passed <- 0L
.results$failed <- character(0)

test <- function(name, code) {
  outcome <- tryCatch({
    force(code)
    NULL
  }, error = function(e) conditionMessage(e))
  if (is.null(outcome)) {
    .results$passed <- .results$passed + 1L
    cat(sprintf("ok - %s\n", name))
  } else {
    .results$failed <- c(.results$failed, name)
    cat(sprintf("not ok - %s\n    %s\n", name, gsub("\n", "\n    ", outcome)))
  }
  invisible(NULL)
}

finish <- function() {
  failed <- length(.results$failed)
  cat(sprintf("R TESTS: %d passed, %d failed\n", .results$passed, failed))
  if (failed > 0L) {
    cat(sprintf("FAILED: %s\n", paste(.results$failed, collapse = "; ")))
    quit(status = 1L, save = "no")
  }
  quit(status = 0L, save = "no")
}

fail <- function(...) stop(paste0(...), call. = FALSE)

assert_true <- function(x, what) if (!isTRUE(x)) fail("expected: ", what)

assert_equal <- function(actual, expected, what) {
  if (!identical(actual, expected)) {
    fail(what, ": expected ", paste(deparse(expected), collapse = ""), ", got ", paste(deparse(actual), collapse = ""))
  }
}

# Runs code that must fail; returns the condition so the caller can check more.
assert_error <- function(code, pattern, what, class = "error") {
  cond <- tryCatch({
    force(code)
    NULL
  }, error = function(e) e)
  if (is.null(cond)) fail(what, ": expected an error matching /", pattern, "/, but there was none")
  if (!inherits(cond, class)) {
    fail(what, ": expected an error of class ", class, ", got ", paste(class(cond), collapse = "/"),
         ": ", conditionMessage(cond))
  }
  if (!grepl(pattern, conditionMessage(cond), perl = TRUE)) {
    fail(what, ": the error \"", conditionMessage(cond), "\" does not match /", pattern, "/")
  }
  cond
}

# A regular expression matching `text` literally.
literal <- function(text) gsub("([][{}()+*^$|\\\\?.])", "\\\\\\1", text)

need_env <- function(name) {
  v <- Sys.getenv(name, unset = "")
  if (!nzchar(v)) {
    cat(sprintf("not ok - environment: %s is not set (test/r-client.test.ts sets it)\n", name))
    quit(status = 2L, save = "no")
  }
  v
}

hex_to_utf8 <- function(hex) {
  bytes <- as.raw(strtoi(substring(hex, seq(1L, nchar(hex), 2L), seq(2L, nchar(hex), 2L)), 16L))
  s <- rawToChar(bytes)
  Encoding(s) <- "UTF-8"
  s
}

# Compares strings byte for byte, whatever their declared encodings and the session's locale.
same_text <- function(a, b) {
  is.character(a) && length(a) == 1L && identical(charToRaw(enc2utf8(a)), charToRaw(enc2utf8(b)))
}

# Every variable that tells the package where the server is, so that each test starts from none.
DKU_VARS <- c("DKU_API_TICKET", "DKU_BACKEND_HOST", "DKU_BACKEND_PORT", "DKU_BACKEND_PROTOCOL",
              "DKU_DSS_URL", "DKU_API_KEY", "DKU_NO_CHECK_CERTIFICATE", "DKU_DEFAULT_INSTANCE")

# Runs code with exactly the given DKU_* variables set (others unset), HOME at `home` and no
# dkuSetRemoteDSS() in effect; restores everything afterwards.
with_dku <- function(vars = list(), code, home = EMPTY_HOME) {
  saved <- Sys.getenv(c(DKU_VARS, "HOME"), unset = NA, names = TRUE)
  on.exit({
    for (n in names(saved)) {
      if (is.na(saved[[n]])) Sys.unsetenv(n) else do.call(Sys.setenv, stats::setNames(list(saved[[n]]), n))
    }
    dataiku:::dku_clear_remote()
  }, add = TRUE)
  Sys.unsetenv(DKU_VARS)
  dataiku:::dku_clear_remote()
  if (length(vars) > 0L) do.call(Sys.setenv, vars)
  Sys.setenv(HOME = home)
  force(code)
}

# Writes ~/.dataiku/config.json under a fresh temporary home and returns that home.
home_with_config <- function(config) {
  home <- tempfile("home-")
  dir.create(file.path(home, ".dataiku"), recursive = TRUE)
  text <- if (is.character(config)) config else jsonlite::toJSON(config, auto_unbox = TRUE, pretty = TRUE)
  writeLines(text, file.path(home, ".dataiku", "config.json"))
  home
}

EMPTY_HOME <- tempfile("empty-home-")
dir.create(EMPTY_HOME)
