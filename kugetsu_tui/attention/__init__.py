"""Telling the operator when a session wants them: transitions, the dedupe record, the channels (no Textual)."""
