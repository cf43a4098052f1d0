"""End-to-end pipelines: features -> train -> evaluate -> gate -> register."""
