"""Base registries: natural persons, legal persons, city components, e-certificates, indicators."""
