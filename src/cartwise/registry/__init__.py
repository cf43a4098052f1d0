"""MLflow tracking and registry: log, register, gate, promote, roll back."""
