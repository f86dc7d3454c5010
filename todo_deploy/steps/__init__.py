"""The deploy steps: target, preflight, images, secrets, release, verify, report and helpers."""
