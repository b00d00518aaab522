# dkuCustomRecipeConfig(), dkuPluginConfig() and dkuCustomRecipeResource(): what a plugin recipe reads
# from the environment Coffer starts it with, and the errors outside a plugin recipe or for a malformed
# variable. No server is needed: each case sets the variables. test/r-client.test.ts runs this script in
# a UTF-8 locale and in the C locale.

args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", args, value = TRUE)[1])), "helpers.R"))
suppressPackageStartupMessages(library(dataiku))

PLUGIN_VARS <- c("DKU_CUSTOM_RECIPE_CONFIG", "DKU_CUSTOM_RECIPE_PLUGIN_CONFIG", "DKU_CUSTOM_RESOURCE_FOLDER",
                 "DKU_CUSTOM_RECIPE_ID")

# Sets variables to the UTF-8 bytes of each value, as the server does, whatever the locale. (Sys.setenv()
# would translate a string marked UTF-8 to the C locale as "<U+00E9>"; an unmarked one goes as is.)
set_utf8_env <- function(vars) {
  for (n in names(vars)) {
    do.call(Sys.setenv, stats::setNames(list(rawToChar(charToRaw(enc2utf8(vars[[n]])))), n))
  }
}

# Runs code with exactly the given plugin recipe variables set (the others unset), then restores them.
with_plugin <- function(vars, code) {
  saved <- Sys.getenv(PLUGIN_VARS, unset = NA, names = TRUE)
  on.exit({
    for (n in names(saved)) {
      if (is.na(saved[[n]])) Sys.unsetenv(n) else do.call(Sys.setenv, stats::setNames(list(saved[[n]]), n))
    }
  }, add = TRUE)
  Sys.unsetenv(PLUGIN_VARS)
  set_utf8_env(vars)
  force(code)
}

TOKEN <- "tok-\u00e9\u6f22-\U0001F511-\"quoted\"-\\-end"
# The JSON the server writes: non-ASCII as is, quotes and backslashes escaped; one value escaped as \u.
CONFIG_JSON <- paste0(
  '{"endpoint": "https://api.example.com/v1", "label": "caf\u00e9 \u6771\u4eac \U0001F600",',
  ' "escaped": "caf\\u00e9", "retries": 3, "ratio": 0.25, "verbose": true, "since": null,',
  ' "columns": ["a", "b\u00fc"], "pairs": [{"from": "x", "to": "y"}],',
  ' "api": {"url": "https://api.example.com", "token": "tok-\u00e9\u6f22-\U0001F511-\\"quoted\\"-\\\\-end",',
  ' "basic": {"user": "u\u00e9", "password": "p\u00e0ss"}}}'
)
PLUGIN_JSON <- '{"default_timeout": 30, "region": "eu-\u00f1"}'
RUN <- list(
  DKU_CUSTOM_RECIPE_CONFIG = CONFIG_JSON,
  DKU_CUSTOM_RECIPE_PLUGIN_CONFIG = PLUGIN_JSON,
  DKU_CUSTOM_RESOURCE_FOLDER = "/nonexistent/plugin/resource",
  DKU_CUSTOM_RECIPE_ID = "api-connect/fetch"
)
with_run <- function(...) utils::modifyList(RUN, list(...))

assert_text <- function(actual, expected, what) {
  if (!same_text(actual, expected)) {
    fail(what, ": expected ", paste(deparse(expected), collapse = ""), ", got ", paste(deparse(actual), collapse = ""))
  }
}

# Everything a condition carries, as text.
condition_text <- function(cond) paste(c(conditionMessage(cond), utils::capture.output(str(unclass(cond)))), collapse = "\n")

test("dkuCustomRecipeConfig(): a named list with JSON types, unicode and the nested preset", {
  with_plugin(RUN, {
    config <- dkuCustomRecipeConfig()
    assert_true(is.list(config) && !is.null(names(config)), "a named list")
    assert_text(config$api$token, TOKEN, "config$api$token (the preset's credential)")
    assert_text(config[["api"]][["basic"]][["password"]], "p\u00e0ss", "config$api$basic$password")
    assert_text(config$label, "caf\u00e9 \u6771\u4eac \U0001F600", "config$label")
    assert_text(config$escaped, "caf\u00e9", "a \\u escape")
    assert_equal(config$endpoint, "https://api.example.com/v1", "config$endpoint")
    assert_equal(config$retries, 3L, "an integer")
    assert_equal(config$ratio, 0.25, "a double")
    assert_equal(config$verbose, TRUE, "a boolean")
    assert_true("since" %in% names(config) && is.null(config$since), "null is NULL")
    assert_equal(length(config$columns), 2L, "STRINGS: two values")
    assert_true(is.character(config$columns), "STRINGS: a character vector")
    assert_text(config$columns[2], "b\u00fc", "STRINGS: the second value")
    assert_equal(config$pairs, list(list(from = "x", to = "y")), "an array of objects: a list of lists")
  })
})

test("every call parses afresh: a changed variable takes effect on the next call", {
  with_plugin(RUN, {
    first <- dkuCustomRecipeConfig()
    set_utf8_env(list(DKU_CUSTOM_RECIPE_CONFIG = '{"endpoint": "other"}'))
    assert_equal(dkuCustomRecipeConfig(), list(endpoint = "other"), "the new config")
    assert_text(first$api$token, TOKEN, "the first result is unchanged")
  })
})

test("dkuPluginConfig(): the plugin's settings, and an empty named list for {}", {
  with_plugin(RUN, {
    plugin <- dkuPluginConfig()
    assert_equal(plugin$default_timeout, 30L, "default_timeout")
    assert_text(plugin$region, "eu-\u00f1", "region")
  })
  with_plugin(with_run(DKU_CUSTOM_RECIPE_PLUGIN_CONFIG = "{}"), {
    plugin <- dkuPluginConfig()
    assert_true(is.list(plugin) && length(plugin) == 0L, "empty")
    assert_true(is.null(plugin$anything), "$ on it gives NULL")
  })
})

test("dkuCustomRecipeResource(): the folder's path, whether or not it exists", {
  folder <- tempfile("plugin-resource-")
  dir.create(folder)
  on.exit(unlink(folder, recursive = TRUE), add = TRUE)
  writeLines("helper <- function() 42", file.path(folder, "helpers.R"))
  with_plugin(with_run(DKU_CUSTOM_RESOURCE_FOLDER = folder), {
    assert_equal(dkuCustomRecipeResource(), folder, "the path")
    assert_equal(list.files(dkuCustomRecipeResource()), "helpers.R", "its files")
    source(file.path(dkuCustomRecipeResource(), "helpers.R"), local = TRUE)
    assert_equal(helper(), 42, "a sourced helper")
  })
  with_plugin(RUN, assert_equal(dkuCustomRecipeResource(), "/nonexistent/plugin/resource", "a missing folder"))
})

test("dkuCustomRecipeInputNamesForRole/OutputNamesForRole: character(0), Coffer has no datasets", {
  with_plugin(RUN, {
    assert_equal(dkuCustomRecipeInputNamesForRole("input_A_role"), character(0), "inputs")
    assert_equal(dkuCustomRecipeOutputNamesForRole("main_output", as_full_names = FALSE), character(0), "outputs")
  })
})

test("outside a plugin recipe every function fails with dku_plugin_recipe_error naming itself and the variable", {
  calls <- list(
    dkuCustomRecipeConfig = list(function() dkuCustomRecipeConfig(), "DKU_CUSTOM_RECIPE_CONFIG"),
    dkuPluginConfig = list(function() dkuPluginConfig(), "DKU_CUSTOM_RECIPE_PLUGIN_CONFIG"),
    dkuCustomRecipeResource = list(function() dkuCustomRecipeResource(), "DKU_CUSTOM_RESOURCE_FOLDER"),
    dkuCustomRecipeInputNamesForRole = list(function() dkuCustomRecipeInputNamesForRole("r"), "DKU_CUSTOM_RECIPE_CONFIG"),
    dkuCustomRecipeOutputNamesForRole = list(function() dkuCustomRecipeOutputNamesForRole("r"), "DKU_CUSTOM_RECIPE_CONFIG")
  )
  for (fn in names(calls)) {
    with_plugin(list(), {
      cond <- assert_error(calls[[fn]][[1]](), paste0(
        "^", fn, "\\(\\): only works inside a plugin recipe run by Coffer: the environment variable ",
        calls[[fn]][[2]], " is not set or empty"
      ), fn, class = "dku_plugin_recipe_error")
      assert_true(inherits(cond, "dku_error"), paste(fn, "a dku_error"))
      assert_equal(cond$variable, calls[[fn]][[2]], paste(fn, "$variable"))
    })
  }
  # One variable missing among the others.
  run <- RUN
  run$DKU_CUSTOM_RECIPE_PLUGIN_CONFIG <- NULL
  with_plugin(run, assert_error(dkuPluginConfig(), "DKU_CUSTOM_RECIPE_PLUGIN_CONFIG is not set", "plugin config",
                                class = "dku_plugin_recipe_error"))
  with_plugin(with_run(DKU_CUSTOM_RECIPE_CONFIG = ""), assert_error(
    dkuCustomRecipeConfig(), "DKU_CUSTOM_RECIPE_CONFIG is not set or empty", "empty", class = "dku_plugin_recipe_error"
  ))
})

# Malformed, and holding a credential that no message, field or warning may show.
check_hidden <- function(code, variable, canaries, kind) {
  warnings <- character(0)
  cond <- withCallingHandlers(
    assert_error(code, paste0(literal(variable), " must hold a JSON object, but it is ", kind,
                              "; its content is not shown"), variable, class = "dku_plugin_recipe_error"),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  shown <- paste(c(condition_text(cond), warnings), collapse = "\n")
  for (canary in canaries) assert_true(!grepl(canary, shown, fixed = TRUE), paste("no", canary, "in the error"))
  assert_equal(cond$variable, variable, "$variable")
}

test("malformed JSON: the error names the variable and never quotes its content", {
  leaky <- paste0('{"api": {"token": "', "tok-LEAK-CANARY", '", "user": ')
  with_plugin(with_run(DKU_CUSTOM_RECIPE_CONFIG = leaky), check_hidden(
    dkuCustomRecipeConfig(), "DKU_CUSTOM_RECIPE_CONFIG", c("LEAK-CANARY", '"api"', "right here"), "not valid JSON"
  ))
  with_plugin(with_run(DKU_CUSTOM_RECIPE_PLUGIN_CONFIG = "password=hunter2-LEAK-CANARY"), check_hidden(
    dkuPluginConfig(), "DKU_CUSTOM_RECIPE_PLUGIN_CONFIG", c("hunter2", "LEAK-CANARY"), "not valid JSON"
  ))
})

test("JSON that is not an object is refused without quoting it", {
  for (text in c('["tok-LEAK-CANARY"]', '"tok-LEAK-CANARY"', "12345678", "true", "null", "[]",
                 '[{"token": "tok-LEAK-CANARY"}]')) {
    with_plugin(with_run(DKU_CUSTOM_RECIPE_CONFIG = text), check_hidden(
      dkuCustomRecipeConfig(), "DKU_CUSTOM_RECIPE_CONFIG", c("LEAK-CANARY", "12345678"), "JSON but not an object"
    ))
  }
})

finish()
