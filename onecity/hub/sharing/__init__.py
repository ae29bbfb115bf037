"""Governed sharing (三清单一目录): agencies request dataset fields for a purpose; owners decide; grants are enforced."""
