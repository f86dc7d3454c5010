"""What CI needs before a normal user can run kind here (offline), from tests/support/kind."""
