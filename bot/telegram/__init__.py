"""The Telegram adapter: the Bot API application, its handlers, how a Reply is sent (the chat: bot.chat)."""
