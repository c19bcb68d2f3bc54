# The hard gate of the cutover: read from Exchange Online at every plan, so a plan that would
# switch MX stops here until every mailbox has finished its initial sync.
data "m365_migration_batch" "wave1" {
  name = m365_migration_batch.wave1.name

  lifecycle {
    postcondition {
      condition     = self.all_synced
      error_message = "Not every mailbox is synced yet (${self.status}): failed ${jsonencode(self.failed_users)}, pending ${jsonencode(self.pending_users)}."
    }
  }
}

output "synced" {
  value = "${length(data.m365_migration_batch.wave1.synced_users)} of ${length(data.m365_migration_batch.wave1.members)} mailboxes synced"
}
