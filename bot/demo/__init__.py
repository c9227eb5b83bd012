"""`ccerbot demo`: the whole job offline on a generated first-cycle mailbox."""
