"""The chat: views that answer a person (shared with the console chat) and the Telegram adapters."""
