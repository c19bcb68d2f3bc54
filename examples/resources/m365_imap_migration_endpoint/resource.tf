# Tencent Exmail's IMAP server. Exchange Online connects to it before it creates the endpoint.
resource "m365_imap_migration_endpoint" "exmail" {
  name          = "TencentExmail"
  remote_server = "imap.exmail.qq.com"
  port          = 993
  security      = "Ssl"

  # Mailboxes copied at once during the initial sync, and incremental syncs at once
  # (at most max_concurrent_migrations).
  max_concurrent_migrations        = 20
  max_concurrent_incremental_syncs = 10
}
