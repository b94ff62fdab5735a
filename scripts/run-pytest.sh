#!/bin/sh
# Run the end-to-end tests with Debian's pytest (the python3 first on PATH
# may be another install that cannot see Debian's packages).
if command -v pytest-3 >/dev/null 2>&1; then
	exec pytest-3 -q "$@"
fi
exec /usr/bin/python3 -m pytest -q "$@"
