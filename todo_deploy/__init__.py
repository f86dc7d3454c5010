"""The deployment suite: Invoke tasks that take the Todo app to a local Kubernetes cluster."""

import os
import sys

# Invoke turns bytecode writing off before it loads tasks.py (to keep tasks.pyc out of the
# project), so every module of the suite would be compiled from source on every command,
# 0.4 s of each. Python's own switch still decides.
sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
