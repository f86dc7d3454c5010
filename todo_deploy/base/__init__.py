"""What every layer stands on: the Runner, config, paths, tools, the catalogue, kubectl helpers."""
