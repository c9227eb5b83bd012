"""WeCom (企业微信, 政务微信) self-built app: the chat in callback mode, app messages, uploads."""
