"""Who may do what (users, roles, sign-in) and what they may see (redaction, pseudonyms, noise)."""
