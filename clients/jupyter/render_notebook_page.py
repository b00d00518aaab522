"""Renders Jupyter's own notebook page (notebook 6.4's notebook.html) for Coffer to serve.

Coffer serves the classic notebook front end from Debian's python3-notebook (docs/adr/0020). The page
is a Jinja template; this renders it once, with Jupyter's own template environment and translations,
and prints JSON {"html": ...}. What differs per request (the notebook's path and name, the script
nonce) is left as placeholder words that Coffer replaces, already escaped for where they stand.

Run by the server with /usr/bin/python3, never inside a user's sandbox: it reads only the template
files of the installed package.
"""

import gettext
import json
import os
import re
import sys

from jinja2 import Environment, FileSystemLoader

import notebook
from notebook._version import __version__

# Words that survive Jinja's escaping and urlencode unchanged, replaced by Coffer per request.
PLACEHOLDERS = {
    "notebook_path": "cofferplaceholdernotebookpath",
    "notebook_name": "cofferplaceholdernotebookname",
}


class Exporter:
    # Coffer has no nbconvert service: the one download is the notebook itself.
    name = "notebook"
    display = "Notebook (.ipynb)"


def static_url(path, include_version=True):
    return "/jupyter/static/" + path


def main():
    base = os.path.dirname(notebook.__file__)
    env = Environment(
        loader=FileSystemLoader(os.path.join(base, "templates")),
        extensions=["jinja2.ext.i18n"],
        autoescape=True,
    )
    nbui = gettext.translation("nbui", localedir=os.path.join(base, "i18n"), fallback=True)
    env.install_gettext_translations(nbui, newstyle=False)
    html = env.get_template("notebook.html").render(
        base_url="/jupyter/",
        # The logo leads back to Coffer's projects, not to Jupyter's file tree, which Coffer has not.
        default_url="/projects",
        ws_url="",
        logged_in=False,
        login_available=False,
        token_available=False,
        token="",
        allow_password_change=False,
        static_url=static_url,
        # What the About dialog shows: versions only, not the server's paths or platform.
        sys_info=json.dumps(
            {"notebook_version": __version__, "sys_version": sys.version.split()[0], "commit_source": ""}
        ),
        contents_js_source="services/contents",
        version_hash="",
        ignore_minified_js=False,
        xsrf_form_html=lambda: "",
        xsrf_token="",
        nbjs_translations="{}",
        kill_kernel=False,
        # MathJax is off: the page's scripts are limited to the front end's own (see ADR 0020).
        mathjax_url="",
        mathjax_config="",
        get_frontend_exporters=lambda: [Exporter()],
        **PLACEHOLDERS,
    )
    # Debian's es6-promise is a development build that runs through eval(), which the page's
    # Content-Security-Policy forbids; every browser the front end supports has Promise built in.
    html = re.sub(r'<script src="[^"]*/es6-promise/promise\.min\.js"[^>]*></script>\s*', "", html)
    json.dump({"html": html, "version": __version__, "staticDir": os.path.join(base, "static")}, sys.stdout)


if __name__ == "__main__":
    main()
