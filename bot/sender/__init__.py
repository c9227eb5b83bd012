"""The outbox sender: delivers what the scheduler wrote, through Telegram, email, group robots and the
DingTalk, Feishu and WeCom apps, with one retry policy."""
