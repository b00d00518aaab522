# Makes `python3 -m unittest test/python/...` import this directory rather than the standard library's `test` package.
