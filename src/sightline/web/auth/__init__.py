"""Sign-in by API key, the signed session cookie, CSRF tokens."""
