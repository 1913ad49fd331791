"""The published contracts: event JSON Schemas and AsyncAPI (generated), the gateway's OpenAPI (by hand)."""
