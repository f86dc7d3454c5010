"""Thin Invoke task modules over the suite; the root tasks.py assembles them."""
