"""OGC SensorThings API 1.1: entity sets, the query language, writers and the HTTP routes."""
