"""Sensing the city: SensorThings API 1.1, MQTT ingest, stream rules and early warning."""
