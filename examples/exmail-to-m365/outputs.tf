# Phase 1

output "verification_txt" {
  description = "Publish at the zone apex (DNSPod: 主机记录 @, 记录类型 TXT) before the verification can succeed."
  value       = m365_domain.company.verification_txt
}

output "domain_verified" {
  value = m365_domain_verification.company.is_verified
}

output "free_seats" {
  description = "Free seats of license_sku at the last refresh."
  value       = data.m365_subscribed_skus.license.skus[0].available_units
}

output "users" {
  value = { for upn, id in m365_users.staff.ids : upn => local.users[upn].display_name }
}

output "licensed_users" {
  value = { for upn, doc in m365_users.staff.attributes : upn => jsondecode(doc).licenses }
}

output "aliases" {
  description = "Each user's email aliases (the export's 别名), written through Exchange Online."
  value       = { for upn, doc in m365_users.staff.attributes : upn => try(jsondecode(doc).aliases, []) }
}

output "batch_status" {
  value = m365_migration_batch.wave1.status
}

output "batch_users" {
  description = "Per mailbox: status, items copied, error."
  value = {
    for email, u in m365_migration_batch.wave1.users : email => {
      status       = u.status
      items_synced = u.items_synced
      error        = u.error
    }
  }
}

# Phase 2

output "cutover_records" {
  description = "dns_provider = \"manual\": create these records at your DNS host (DNSPod shape)."
  value       = var.cutover && var.dns_provider == "manual" ? merge(data.m365_dns_records.cutover[0].dnspod_records, m365_dkim.company[0].dnspod_records) : null
}

output "cutover_zone_file" {
  description = "The same records as BIND zone-file text."
  value       = var.cutover ? data.m365_dns_records.cutover[0].zone_file : null
}

output "records_to_remove" {
  description = "dns_provider = \"manual\": delete Exmail's records (MX mxbiz1/mxbiz2.qq.com, SPF)."
  value       = var.cutover && var.dns_provider == "manual" ? data.m365_dns_records.cutover[0].remove_dnspod_records : null
}

output "next_step" {
  value = (
    !var.cutover ? "Phase 1: when batch_status is Synced, apply again with cutover = true." :
    local.mx_switched_at == null ? "Phase 2: publish cutover_records and delete records_to_remove at your DNS host, then apply with mx_switched_at = \"<time of the MX change, RFC 3339>\" to run the final sync." :
    "Final sync started. Reconfigure clients (client_settings); remove the batch after remove_batch_after."
  )
}

output "remove_batch_after" {
  description = "Microsoft: wait 72 hours after the MX change, and the final sync, before removing the batch: delete the m365_migration_batch block (its prevent_destroy goes with it) and apply, or set prevent_destroy = false and run terraform destroy -target=m365_migration_batch.wave1. terraform state rm only forgets it: the batch stays in Exchange Online."
  value       = local.mx_switched_at == null ? null : timeadd(local.mx_switched_at, "72h")
}

output "client_settings" {
  description = "Phones, Outlook and other clients after the move."
  value = {
    imap         = "${data.m365_mail_client_settings.this.imap_host}:${data.m365_mail_client_settings.this.imap_port} ${data.m365_mail_client_settings.this.imap_encryption}"
    smtp         = "${data.m365_mail_client_settings.this.smtp_host}:${data.m365_mail_client_settings.this.smtp_port} ${data.m365_mail_client_settings.this.smtp_encryption}"
    pop          = "${data.m365_mail_client_settings.this.pop_host}:${data.m365_mail_client_settings.this.pop_port} ${data.m365_mail_client_settings.this.pop_encryption}"
    autodiscover = data.m365_mail_client_settings.this.autodiscover_host
  }
}
