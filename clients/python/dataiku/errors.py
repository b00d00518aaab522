"""Exceptions raised by the package. None of their messages ever carries a secret value or a key."""


class DataikuError(Exception):
    """Base class of every error of this package."""


class DataikuException(DataikuError):
    """The server answered with an error (HTTP status >= 400, or a redirect, which is never followed).

    As in dataikuapi, ``str(e)`` is ``"<errorType>: <detailedMessage or message>"`` taken from the
    server's JSON error body; for a body that is not JSON it is ``"HTTP <status> <reason>: <text>"``.
    The attributes give the parts: ``status``, ``error_type``, ``detailed_message``, ``code``,
    ``method`` and ``url`` (without its query string).
    """

    def __init__(self, message, status=None, error_type=None, detailed_message=None, code=None, method=None, url=None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.detailed_message = detailed_message
        self.code = code
        self.method = method
        self.url = url


class DataikuConnectionError(DataikuError, ConnectionError):
    """The server could not be reached (refused, timed out, TLS failure); the message names the URL."""

    def __init__(self, message, url=None):
        super().__init__(message)
        self.url = url

    def __str__(self):
        return self.args[0] if self.args else ""


class DataikuProtocolError(DataikuError):
    """The server answered 2xx with something that is not the expected JSON (not a Coffer/DSS URL?)."""

    def __init__(self, message, url=None):
        super().__init__(message)
        self.url = url


class DataikuConfigError(DataikuError):
    """No server is configured, or a source (environment, config.json, set_remote_dss) is set wrongly."""


class SecretNotFound(DataikuError, KeyError):
    """The caller has no secret of that name. ``secret_name`` is the name looked up."""

    def __init__(self, secret_name, message):
        super().__init__(message)
        self.secret_name = secret_name

    def __str__(self):
        # KeyError would print the message in quotes.
        return self.args[0] if self.args else ""
