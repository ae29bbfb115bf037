"""Governed sharing (三清单一目录).

Agencies request dataset fields for a purpose; the owning agency decides; grants are enforced.
"""
