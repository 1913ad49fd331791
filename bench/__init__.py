"""Benchmarks of the event backbone and the profile-request endpoint (`make bench`)."""
