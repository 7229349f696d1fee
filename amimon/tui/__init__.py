"""The Textual monitor. The only package that imports textual."""
