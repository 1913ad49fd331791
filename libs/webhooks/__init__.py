"""Webhooks done the way Stripe and GitHub do them: signing (signing.py), outbound requests that refuse
private addresses (outbound.py) and the retry schedule (retry.py). Shared by the gateway (URL checks at
registration, the secret shown once) and the alerts service (deliveries)."""
