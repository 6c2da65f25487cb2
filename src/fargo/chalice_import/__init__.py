"""`fargo import-chalice`: a Chalice project's settings as fargo config, no handler changed."""
