"""The simulated creators' words in languages other than English, one module per language."""
