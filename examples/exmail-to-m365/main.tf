# Phase 1 (cutover = false): bind the domain, create the licensed users, copy the mailboxes.
# Mail keeps arriving at Exmail; Exchange Online copies it again every 24 hours.

locals {
  # Resolved from path.module so that plan and apply work from any directory.
  users_csv     = abspath(startswith(var.users_csv, "/") ? var.users_csv : "${path.module}/${var.users_csv}")
  migration_csv = abspath(startswith(var.migration_csv, "/") ? var.migration_csv : "${path.module}/${var.migration_csv}")

  # When MX was switched to Microsoft 365. With dns_provider = "manual" you say so; dnspod/ sets
  # it to the time Terraform changed the record (dnspod_override.tf).
  mx_switched_at = var.mx_switched_at

  # source_mode = "exmail_api": users, IMAP access and migration credentials from Exmail's API.
  api   = var.source_mode == "exmail_api"
  users = local.api ? data.m365_exmail_directory.src[0].users : data.m365_users_csv.exmail[0].users
}

# Admin centre: Settings > Domains > Add domain.
resource "m365_domain" "company" {
  name               = var.domain
  supported_services = ["Email"]
}

# Admin centre: "Verify" after the TXT record is at DNSPod. Retries until Microsoft sees it.
resource "m365_domain_verification" "company" {
  domain       = m365_domain.company.name
  dns_resolver = var.dns_resolver

  timeouts = {
    create = "30m"
  }
}

# Admin centre: Users > Active users > Add multiple users (a UTF-8 CSV of 249 rows at most).
data "m365_users_csv" "exmail" {
  count = local.api ? 0 : 1
  path  = local.users_csv
  # A rehearsal on a staging tenant rewrites every address to its *.onmicrosoft.com domain.
  domain = coalesce(var.staging_domain, var.domain)

  defaults = {
    usage_location = "CN"
  }
}

# source_mode = "exmail_api": the live address book instead of the export (same users, same checks).
data "m365_exmail_directory" "src" {
  count  = local.api ? 1 : 0
  domain = coalesce(var.staging_domain, var.domain)

  defaults = {
    usage_location = "CN"
  }
}

# source_mode = "exmail_api": Exmail webmail > 设置 > 客户端设置 > IMAP/SMTP, for every member, by API.
# exmail_imap_restore = true after the move switches IMAP off again where it was off.
resource "m365_exmail_imap_access" "src" {
  count     = local.api ? 1 : 0
  mailboxes = data.m365_exmail_directory.src[0].mailbox_map

  # After the cutover and the final sync: each member's IMAP setting back as it was, in place.
  restore = var.exmail_imap_restore
}

# Admin centre: Billing > Licences; Users > Manage product licences.
data "m365_subscribed_skus" "license" {
  sku_part_number = var.license_sku
}

resource "m365_users" "staff" {
  users          = local.users
  usage_location = "CN"

  licenses = [{ sku = var.license_sku }]

  password_wo         = var.initial_password
  password_wo_version = 1

  # The domain is added and verified by this same apply.
  pending_domains = [var.domain]
  depends_on      = [m365_domain_verification.company]

  # Destroying this resource deletes every user (and, 30 days later, every mailbox).
  lifecycle {
    prevent_destroy = true
  }
}

# Exchange admin centre: Migration > Add migration batch > IMAP > new endpoint.
resource "m365_imap_migration_endpoint" "exmail" {
  name          = "TencentExmail"
  remote_server = var.imap_host
  port          = var.imap_port
  security      = var.imap_security

  max_concurrent_migrations        = 20
  max_concurrent_incremental_syncs = 10
}

# Exchange admin centre: Migration > upload the CSV with every user's Exmail password.
# Checked at plan time; nothing of it is stored.
ephemeral "m365_imap_migration_csv" "wave1" {
  count = local.api ? 0 : 1
  path  = local.migration_csv
}

resource "m365_migration_batch" "wave1" {
  name              = "exmail-wave1"
  source_endpoint   = m365_imap_migration_endpoint.exmail.name
  csv_wo            = local.api ? null : ephemeral.m365_imap_migration_csv.wave1[0].content
  csv_wo_version    = local.api ? null : var.migration_csv_version
  preflight_ca_file = var.imap_ca_file

  # source_mode = "exmail_api": EmailAddress and UserName from the address book; passwords from
  # exmail_passwords (a secret store) or set by the provider (exmail_set_passwords).
  exmail_members       = local.api ? data.m365_exmail_directory.src[0].mailbox_map : null
  exmail_passwords_wo  = local.api && !var.exmail_set_passwords ? var.exmail_passwords : null
  exmail_set_passwords = local.api && var.exmail_set_passwords

  exclude_folders = ["Deleted Messages", "Junk"]
  time_zone       = "China Standard Time"

  # A rehearsal rewrites every EmailAddress (not UserName, the Exmail login) to the staging domain.
  domain = var.staging_domain

  # Every CSV row must migrate into one of these users (checked at plan time, naming the CSV
  # line); the batch waits until each of them has an Exchange Online mailbox before submitting.
  targets = keys(m365_users.staff.attributes)

  # The batch's reports. Use an address outside the domain being moved: once it is verified,
  # mail for it goes to the new, unread mailbox.
  notification_emails = var.notification_emails

  # The apply ends when every mailbox has finished its initial sync.
  wait_for = "synced"

  # Phase 2: a change after the MX switch runs Set-MigrationBatch -SyncNow, the final sync.
  sync_now_trigger = local.mx_switched_at == null ? "before-mx-switch" : "mx-switched-${local.mx_switched_at}"

  timeouts = {
    create = "24h"
    update = "24h"
  }

  # IMAP is on once the access is applied (source_mode = "exmail_api").
  depends_on = [m365_exmail_imap_access.src]

  # Removing the batch ends the copying of mail: only after the cutover and the final sync.
  lifecycle {
    prevent_destroy = true
  }
}
