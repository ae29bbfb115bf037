"""A tiny part that exists only to prove the shape: adding a part touches the list of parts and its own package.

Notes: a signed-in person writes a note (a table, an API route, an event); a consumer counts
the notes it heard of; a page lists them; ``onecity example count`` prints how many there
are; a periodic task ticks; the page's link and words come from the manifest. See
``tests/core/test_parts.py`` and ``docs/development.md``.
"""
