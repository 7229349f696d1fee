"""The commands: ``watch`` (the monitor), ``list``, ``wait`` and ``check``; one module each."""
