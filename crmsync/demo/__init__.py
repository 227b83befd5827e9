"""`crmsync demo`: the engine end to end on bundled data, then on the sandbox as the connectors land."""
