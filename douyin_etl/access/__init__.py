"""How people reach the published warehouse: read-only SQL, exports, status."""
