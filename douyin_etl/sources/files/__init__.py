"""File drops: specs of every file merchants download and 3PLs send, and their ingestion."""
