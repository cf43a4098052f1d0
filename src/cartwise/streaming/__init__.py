"""Event streams and the processor that keeps online features fresh."""
