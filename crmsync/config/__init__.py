"""Configuration: the settings file, environment overrides and the merge policy."""
