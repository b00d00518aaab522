# Package marker for the Python contract tests (see test/__init__.py).
