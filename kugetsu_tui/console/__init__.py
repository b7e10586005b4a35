"""The Textual console: a thin layer of screens and widgets over the core."""
