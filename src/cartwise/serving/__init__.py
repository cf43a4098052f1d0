"""The HTTP decision service."""
