"""Running jobs on this machine: one-off (invoke), scheduled (up), and their run store."""
