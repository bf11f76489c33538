"""Coming next."""
