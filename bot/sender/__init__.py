"""The outbox sender: delivers what the scheduler wrote, through Telegram or email, with one retry policy."""
