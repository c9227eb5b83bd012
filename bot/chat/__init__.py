"""The chat, whatever the platform: who is asking (Peer), what is answered (Reply), and the views."""
