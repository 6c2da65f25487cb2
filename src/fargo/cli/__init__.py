"""fargo's command line: thin click commands over the rooms below; no logic of their own."""
