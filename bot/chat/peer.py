"""Who is asking, on which platform: the Peer of storage, where bindings are keyed by it."""

from storage.peer import PLATFORMS, Peer, Platform, as_peer

__all__ = ["PLATFORMS", "Peer", "Platform", "as_peer"]
