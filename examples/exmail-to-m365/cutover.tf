# Phase 2 (cutover = true): switch MX, autodiscover and SPF (and msoid for 21Vianet) to
# Microsoft 365, remove Exmail's records, run the final sync, reconfigure clients.
# Apply it only after phase 1 ended with every mailbox Synced.

data "m365_dns_records" "cutover" {
  count = var.cutover ? 1 : 0

  domain   = m365_domain_verification.company.domain
  stage    = "cutover"
  replaces = "exmail"

  # DMARC at _dmarc, staged (mail_objects.tf). The DKIM CNAMEs come from m365_dkim.company.
  dmarc_policy = var.dmarc_policy
  dmarc_rua    = var.dmarc_rua
  dkim         = false
}

# Phones and Outlook after the move.
data "m365_mail_client_settings" "this" {}

# The hard gate: read from Exchange Online at every plan. Phase 2 stops here, before any DNS
# record changes, until every mailbox has finished its initial sync.
data "m365_migration_batch" "wave1" {
  count = var.cutover ? 1 : 0

  name = m365_migration_batch.wave1.name

  lifecycle {
    postcondition {
      condition     = self.all_synced
      error_message = "Switch MX only when every mailbox is Synced: the batch is ${self.status}, ${length(self.synced_users)} of ${length(self.members)} users synced, failed: ${jsonencode(self.failed_users)}. Mail that arrives at Exmail after the switch is copied by the final sync only."
    }
  }
}
