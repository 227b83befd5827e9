"""The engine: source record -> mapping -> identity -> merge -> canonical store. Never imports a vendor SDK."""
