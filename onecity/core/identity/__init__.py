"""Who is acting: people (citizens, enterprise representatives, agency staff) and systems.

Every service function takes a :class:`~onecity.core.identity.principal.Principal`; the HTTP
layer builds one from a bearer token, a session cookie or an API key.
"""
