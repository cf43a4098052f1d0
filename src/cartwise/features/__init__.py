"""Feature definitions, point-in-time offline retrieval, online stores."""
