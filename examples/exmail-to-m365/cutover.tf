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

check "phase_1_synced" {
  assert {
    condition     = !var.cutover || m365_migration_batch.wave1.status == "Synced"
    error_message = "Switch MX only when every mailbox is Synced (the batch is ${m365_migration_batch.wave1.status}): mail that arrives at Exmail after the switch is copied by the final sync only."
  }
}
