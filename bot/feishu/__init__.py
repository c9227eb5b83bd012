"""Feishu (飞书, Lark) self-built app: the chat over the long connection, messages, cards and uploads."""
