"""Container build files; runtime_lock keeps the image's dependency pins in step with requirements.lock."""
