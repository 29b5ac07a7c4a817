"""cvae in child processes, no web server: the CLI as a user runs it, the warm-up, SIGKILL and full-disk faults."""
