"""Drift, delayed-label performance, estimated performance, reports."""
