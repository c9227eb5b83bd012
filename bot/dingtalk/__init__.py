"""DingTalk (钉钉, 浙政钉) enterprise app robot: the chat over Stream mode, 1:1 robot messages, uploads."""
