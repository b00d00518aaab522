"""Helpers of the api-connect plugin: on the recipe's import path because they are in python-lib/."""


def request_line(base_url, endpoint, page_size, fmt):
    """The request the recipe would send, as one line (the sample reaches no network)."""
    return "GET %s/%s?page_size=%d&format=%s" % (base_url.rstrip("/"), endpoint.lstrip("/"), page_size, fmt)
