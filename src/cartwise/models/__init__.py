"""Fraud, credit and recommendation models and their shared metrics."""
