"""`perp session`: a local agent (in the spirit of ssh-agent) that unlocks a key once and keeps
venue connections warm; CLI commands become thin clients of it while it runs."""
