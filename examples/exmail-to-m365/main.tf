# Phase 1 (cutover = false): bind the domain, create the licensed users, copy the mailboxes.
# Mail keeps arriving at Exmail; Exchange Online copies it again every 24 hours.

locals {
  # Resolved from path.module so that plan and apply work from any directory.
  users_csv     = abspath(startswith(var.users_csv, "/") ? var.users_csv : "${path.module}/${var.users_csv}")
  migration_csv = abspath(startswith(var.migration_csv, "/") ? var.migration_csv : "${path.module}/${var.migration_csv}")

  # When MX was switched to Microsoft 365. With dns_provider = "manual" you say so; dnspod/ sets
  # it to the time Terraform changed the record (dnspod_override.tf).
  mx_switched_at = var.mx_switched_at
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

  timeouts {
    create = "30m"
  }
}

# Admin centre: Users > Active users > Add multiple users (a UTF-8 CSV of 249 rows at most).
data "m365_users_csv" "exmail" {
  path = local.users_csv
  # A rehearsal on a staging tenant rewrites every address to its *.onmicrosoft.com domain.
  domain = coalesce(var.staging_domain, var.domain)

  defaults = {
    usage_location = "CN"
  }
}

# Admin centre: Billing > Licences; Users > Manage product licences.
data "m365_subscribed_skus" "license" {
  sku_part_number = var.license_sku
}

resource "m365_users" "staff" {
  users          = data.m365_users_csv.exmail.users
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
  path = local.migration_csv
}

resource "m365_migration_batch" "wave1" {
  name              = "exmail-wave1"
  source_endpoint   = m365_imap_migration_endpoint.exmail.name
  csv_wo            = ephemeral.m365_imap_migration_csv.wave1.content
  csv_wo_version    = var.migration_csv_version
  preflight_ca_file = var.imap_ca_file

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

  # Removing the batch ends the copying of mail: only after the cutover and the final sync.
  lifecycle {
    prevent_destroy = true
  }
}
