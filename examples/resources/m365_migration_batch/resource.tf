resource "m365_imap_migration_endpoint" "exmail" {
  name          = "TencentExmail"
  remote_server = "imap.exmail.qq.com"
}

# wave1.csv: EmailAddress,UserName,Password (UTF-8, UTF-16 or GB18030). The passwords never
# reach the plan or the state: the ephemeral resource reads and checks the file at plan time,
# and the batch takes its content as a write-only value.
ephemeral "m365_imap_migration_csv" "wave1" {
  path = "${path.module}/wave1.csv"
}

resource "m365_migration_batch" "wave1" {
  name            = "wave1"
  source_endpoint = m365_imap_migration_endpoint.exmail.name
  csv_wo          = ephemeral.m365_imap_migration_csv.wave1.content
  csv_wo_version  = 1

  exclude_folders     = ["Deleted Messages", "Junk"]
  notification_emails = ["it-admin@contoso.com"]

  # Resources that depend on this batch (such as the MX switch) wait until every mailbox
  # has finished its initial sync.
  wait_for = "synced"

  # After MX points to Microsoft 365, change this value to run a last incremental sync.
  sync_now_trigger = "before-mx-switch"

  timeouts = {
    create = "12h"
  }
}

output "failed_users" {
  value = { for email, u in m365_migration_batch.wave1.users : email => u.error if u.status_summary == "Failed" }
}
