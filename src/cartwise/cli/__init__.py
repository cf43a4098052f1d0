"""The cartwise command line."""
