"""Coffer's Python client, with the names of the Dataiku DSS ``dataiku`` package.

Code written for DSS "User secrets" runs unchanged::

    import dataiku
    client = dataiku.api_client()
    auth_info = client.get_auth_info(with_secrets=True)

``api_client()`` finds the server and the credential as described in ``dataiku.discovery``.
Standard library only; Python 3.9 or later.
"""

from .client import (
    VERSION as __version__,
    DSSClient,
    DSSOwnUser,
    DSSOwnUserSettings,
    DSSPersonalApiKey,
    DSSPersonalApiKeyListItem,
)
from .discovery import clear_remote_dss, config_path, locate, set_remote_dss
from .errors import (
    DataikuConfigError,
    DataikuConnectionError,
    DataikuError,
    DataikuException,
    DataikuProtocolError,
    SecretNotFound,
)

__all__ = [
    "api_client",
    "get_auth_info",
    "get_secret",
    "set_remote_dss",
    "clear_remote_dss",
    "DSSClient",
    "DSSOwnUser",
    "DSSOwnUserSettings",
    "DSSPersonalApiKey",
    "DSSPersonalApiKeyListItem",
    "DataikuError",
    "DataikuException",
    "DataikuConnectionError",
    "DataikuProtocolError",
    "DataikuConfigError",
    "SecretNotFound",
]


def api_client():
    """A DSSClient for the server and identity this code runs with (see ``dataiku.discovery``)."""
    location = locate()
    return DSSClient(
        location.url,
        api_key=location.api_key,
        internal_ticket=location.ticket,
        no_check_certificate=location.no_check_certificate,
    )


def get_auth_info(with_secrets=False):
    """``api_client().get_auth_info(with_secrets)``."""
    return api_client().get_auth_info(with_secrets=with_secrets)


def get_secret(name):
    """``api_client().get_secret(name)``: the value, or SecretNotFound."""
    return api_client().get_secret(name)
