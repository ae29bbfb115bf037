"""Verifiable e-certificates: W3C Verifiable Credentials 2.0 secured as JWTs (VC-JOSE-COSE).

A certificate in the hub's registry (:class:`onecity.hub.registries.models.Certificate`) gets a
signed credential that anyone can check without asking the issuing department: the
signature against the keys at ``/.well-known/jwks.json``, the status against the public
Bitstring Status Lists. What other parts call is in :mod:`onecity.credentials.service`.
"""
