"""Warehouse port and adapters, ingest with validation, the marketplace simulator."""
