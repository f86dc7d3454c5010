"""The deploy and teardown order (lifecycle) and the watch loop: the top of the flow."""
