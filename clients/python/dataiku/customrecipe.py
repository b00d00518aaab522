"""What a plugin recipe's code reads about its own run, with the names of DSS's ``dataiku.customrecipe``.

Code written for a DSS plugin recipe runs unchanged::

    from dataiku.customrecipe import get_recipe_config, get_plugin_config, get_recipe_resource

    config = get_recipe_config()          # the recipe's form values, JSON types
    token = config["api"]["token"]        # a PRESET parameter: a dict of the preset's values, with
                                          # the running user's own credential inside
    plugin = get_plugin_config()          # the plugin-level settings ({} when there are none)
    folder = get_recipe_resource()        # the plugin's resource/ folder (it may not exist)

Coffer starts a plugin recipe with the environment variables DSS uses:

- ``DKU_CUSTOM_RECIPE_CONFIG``: a JSON object, the recipe's config;
- ``DKU_CUSTOM_RECIPE_PLUGIN_CONFIG``: a JSON object, the plugin's config;
- ``DKU_CUSTOM_RESOURCE_FOLDER``: the absolute path of the plugin's ``resource/`` folder.

Outside a plugin recipe these are absent and every function here raises ``DataikuPluginRecipeError``.
The variables are read and parsed afresh on every call: nothing is cached, since a config may hold a
credential. No message of this module ever quotes a variable's content.

Coffer has no datasets: the functions that name a recipe's inputs and outputs return ``[]``.
"""

import json
import os

from .errors import DataikuError

__all__ = [
    "DataikuPluginRecipeError",
    "get_recipe_config",
    "get_plugin_config",
    "get_recipe_resource",
    "get_input_names",
    "get_output_names",
    "get_input_names_for_role",
    "get_output_names_for_role",
]

RECIPE_CONFIG_VAR = "DKU_CUSTOM_RECIPE_CONFIG"
PLUGIN_CONFIG_VAR = "DKU_CUSTOM_RECIPE_PLUGIN_CONFIG"
RESOURCE_FOLDER_VAR = "DKU_CUSTOM_RESOURCE_FOLDER"


class DataikuPluginRecipeError(DataikuError):
    """A ``dataiku.customrecipe`` function was called outside a plugin recipe run by Coffer, or the
    variable it reads is malformed. ``variable`` is the name of that environment variable; the
    message names it and never quotes its content."""

    def __init__(self, message, variable=None):
        super().__init__(message)
        self.variable = variable


def _read(variable, function):
    value = os.environ.get(variable)
    if not value:
        raise DataikuPluginRecipeError(
            "%s() only works inside a plugin recipe run by Coffer: the environment variable %s is not "
            "set or empty (Coffer sets it when it starts a plugin recipe; a plain recipe, a notebook or "
            "a script run by hand has none)" % (function, variable),
            variable,
        )
    return value


def _read_object(variable, function):
    text = _read(variable, function)
    problem = None
    try:
        parsed = json.loads(text)
    except ValueError as err:
        # JSONDecodeError keeps the whole text in err.doc: build our own error outside this block, so
        # that no traceback or __context__ carries it. err.msg and the position never quote the text.
        problem = "it is not valid JSON (%s at line %d, column %d)" % (
            getattr(err, "msg", "malformed"),
            getattr(err, "lineno", 0),
            getattr(err, "colno", 0),
        )
    else:
        if not isinstance(parsed, dict):
            problem = "it is JSON but not an object (it is %s)" % _json_kind(parsed)
    if problem is not None:
        raise DataikuPluginRecipeError(
            "%s(): the environment variable %s must hold a JSON object, but %s; its content is not "
            "shown, since it may hold a credential" % (function, variable, problem),
            variable,
        )
    return parsed


def _json_kind(value):
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null"


def get_recipe_config():
    """The recipe's parameters: a dict of the values set in the recipe's form, as JSON types (str, int,
    float, bool, None, list, dict). A ``PRESET`` parameter is a dict of the preset's values, with the
    running user's own credential inside (``SINGLE_FIELD``: a string; ``BASIC``: a dict with
    ``user`` and ``password``).

    Read from ``DKU_CUSTOM_RECIPE_CONFIG`` on every call; a new dict each time, so changing it changes
    nothing elsewhere. Raises ``DataikuPluginRecipeError`` outside a plugin recipe or if the variable is
    not a JSON object.
    """
    return _read_object(RECIPE_CONFIG_VAR, "get_recipe_config")


def get_plugin_config():
    """The plugin's global settings (its ``plugin.json`` ``params``, set by administrators): a dict,
    ``{}`` when the plugin has none.

    Read from ``DKU_CUSTOM_RECIPE_PLUGIN_CONFIG`` on every call. Raises ``DataikuPluginRecipeError``
    outside a plugin recipe or if the variable is not a JSON object.
    """
    return _read_object(PLUGIN_CONFIG_VAR, "get_plugin_config")


def get_recipe_resource():
    """The absolute path of the plugin's ``resource/`` folder, as a string.

    As in DSS the path is given even when the plugin has no such folder: check
    ``os.path.isdir(get_recipe_resource())`` before listing it. Read from
    ``DKU_CUSTOM_RESOURCE_FOLDER`` on every call; raises ``DataikuPluginRecipeError`` outside a plugin
    recipe.
    """
    return _read(RESOURCE_FOLDER_VAR, "get_recipe_resource")


def _in_plugin_recipe(function):
    _read(RECIPE_CONFIG_VAR, function)


def get_input_names(full=True):
    """The names of all the recipe's inputs. Coffer has no datasets, so always ``[]``; ``full`` is
    accepted for DSS compatibility. Raises ``DataikuPluginRecipeError`` outside a plugin recipe."""
    _in_plugin_recipe("get_input_names")
    return []


def get_output_names(full=True):
    """The names of all the recipe's outputs. Coffer has no datasets, so always ``[]``; ``full`` is
    accepted for DSS compatibility. Raises ``DataikuPluginRecipeError`` outside a plugin recipe."""
    _in_plugin_recipe("get_output_names")
    return []


def get_input_names_for_role(role, full=True):
    """The names of the inputs bound to ``role`` (an ``inputRoles`` name of ``recipe.json``). Coffer has
    no datasets, so always ``[]``. Raises ``DataikuPluginRecipeError`` outside a plugin recipe."""
    _in_plugin_recipe("get_input_names_for_role")
    return []


def get_output_names_for_role(role, full=True):
    """The names of the outputs bound to ``role`` (an ``outputRoles`` name of ``recipe.json``). Coffer
    has no datasets, so always ``[]``. Raises ``DataikuPluginRecipeError`` outside a plugin recipe."""
    _in_plugin_recipe("get_output_names_for_role")
    return []
