# What a plugin recipe's R code reads about its own run, with the names of the DSS R package.
#
# Coffer starts a plugin recipe with the environment variables DSS uses: DKU_CUSTOM_RECIPE_CONFIG (a JSON
# object, the recipe's form values; a PRESET parameter is an object of the preset's values with the
# running user's own credential inside), DKU_CUSTOM_RECIPE_PLUGIN_CONFIG (a JSON object, the plugin's
# settings, maybe {}) and DKU_CUSTOM_RESOURCE_FOLDER (the plugin's resource/ folder, which may not exist).
#
# The variables are read and parsed on every call: nothing is cached, since a config may hold a
# credential. Outside a plugin recipe, or for a variable that is not a JSON object, the error is a
# condition of class "dku_plugin_recipe_error" (and "dku_error") with `variable`, the variable's name;
# no message ever quotes a variable's content.

dku_plugin_recipe_stop <- function(variable, fn, problem) {
  stop(dku_condition(sprintf("%s(): %s", fn, problem), "dku_plugin_recipe_error", variable = variable))
}

# The variable's value, or the error that says this only works inside a plugin recipe.
dku_plugin_recipe_var <- function(variable, fn) {
  value <- Sys.getenv(variable, unset = "")
  if (!nzchar(value)) {
    dku_plugin_recipe_stop(variable, fn, sprintf(paste0(
      "only works inside a plugin recipe run by Coffer: the environment variable %s is not set or empty ",
      "(Coffer sets it when it starts a plugin recipe; a plain recipe, a notebook or a script run by hand ",
      "has none)"
    ), variable))
  }
  value
}

# The variable parsed as a JSON object: objects become named lists (so config$preset$token works),
# arrays of scalars atomic vectors (a STRINGS parameter is a character vector), other arrays unnamed
# lists; never data frames or matrices.
dku_plugin_recipe_object <- function(variable, fn) {
  text <- dku_plugin_recipe_var(variable, fn)
  # The server writes UTF-8, whatever the session's locale.
  Encoding(text) <- "UTF-8"
  parsed_ok <- TRUE
  # jsonlite's own message quotes the text around the error: it is dropped, never shown.
  parsed <- tryCatch(
    jsonlite::parse_json(text, simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE),
    error = function(e) {
      parsed_ok <<- FALSE
      NULL
    }
  )
  problem <- if (!parsed_ok) "it is not valid JSON"
  else if (!is.list(parsed) || is.null(names(parsed))) "it is JSON but not an object"
  if (!is.null(problem)) {
    dku_plugin_recipe_stop(variable, fn, sprintf(
      "the environment variable %s must hold a JSON object, but %s; its content is not shown, since it may hold a credential",
      variable, problem
    ))
  }
  parsed
}

# The recipe's parameters, as a named list: config$param, config[["param"]]; a PRESET parameter is a
# named list of the preset's values with the running user's credential inside (config$preset$token).
dkuCustomRecipeConfig <- function() {
  dku_plugin_recipe_object("DKU_CUSTOM_RECIPE_CONFIG", "dkuCustomRecipeConfig")
}

# The plugin's global settings, as a named list (empty when the plugin has none).
dkuPluginConfig <- function() {
  dku_plugin_recipe_object("DKU_CUSTOM_RECIPE_PLUGIN_CONFIG", "dkuPluginConfig")
}

# The path of the plugin's resource/ folder, given even when the plugin has none (check dir.exists()).
dkuCustomRecipeResource <- function() {
  dku_plugin_recipe_var("DKU_CUSTOM_RESOURCE_FOLDER", "dkuCustomRecipeResource")
}

# The names of the datasets bound to an input or output role: Coffer has no datasets, so character(0).
# The arguments are those of the DSS package.
dkuCustomRecipeInputNamesForRole <- function(role, as_full_names = TRUE) {
  dku_plugin_recipe_var("DKU_CUSTOM_RECIPE_CONFIG", "dkuCustomRecipeInputNamesForRole")
  character(0)
}

dkuCustomRecipeOutputNamesForRole <- function(role, as_full_names = TRUE) {
  dku_plugin_recipe_var("DKU_CUSTOM_RECIPE_CONFIG", "dkuCustomRecipeOutputNamesForRole")
  character(0)
}
