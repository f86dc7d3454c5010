"""Day-2 services: isolation, doctor, dev servers, port-forwards, log following."""
