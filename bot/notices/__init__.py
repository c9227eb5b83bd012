"""Who is told what: the only code that writes the outbox.

Intake, the scheduler and the chat decide *that* something happened; the modules here decide who hears
of it, on which channel, in which words, and write it into the outbox under a key that makes it once.
The sender (bot.sender) delivers from there.
"""
