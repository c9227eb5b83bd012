"""The chat, whatever the platform: who is asking (Peer), the commands (commands.py), the views, what is
answered (Reply), and the one entry point of every adapter (core.py)."""
